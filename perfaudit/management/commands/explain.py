import textwrap

from perfaudit import plantime, render, services
from perfaudit.errors import ServiceError
from perfaudit.management.base import PerfauditCommand
from perfaudit.snapshots.plans import walk


class Command(PerfauditCommand):
    help = (
        "EXPLAIN a statement, a QuerySet or every query of a request, with diagnostics. "
        "--analyze executes inside a transaction that is always rolled back."
    )

    def add_command_arguments(self, parser):
        parser.add_argument("sql", nargs="?", help="one SQL statement")
        parser.add_argument("--url", help="GET this path with the test client, explain its queries")
        parser.add_argument("--user", help="log in as this username for --url")
        parser.add_argument("--queryset", help="dotted path to a callable returning a QuerySet")
        parser.add_argument("--analyze", action="store_true", help="execute (rolled back)")
        parser.add_argument("--buffers", action="store_true", help="include buffer usage")

    def build(self, options):
        sources = [k for k in ("sql", "url", "queryset") if options[k]]
        if len(sources) != 1:
            raise ServiceError("give exactly one of: SQL, --url, --queryset")
        common = {
            "using": options["database"],
            "analyze": options["analyze"],
            "buffers": options["buffers"],
        }
        if options["url"]:
            return services.explain_url(url=options["url"], username=options["user"], **common)
        if options["queryset"]:
            return services.explain_queryset(path=options["queryset"], **common)
        return services.explain_sql(sql=options["sql"], **common)

    def render_text(self, report, options):
        out = [render.header(report, "EXPLAIN")]
        request = report.request
        if request:
            out.append(
                f"GET {request.url} as {request.user or 'anonymous'}: status "
                f"{request.status}, {request.queries} queries"
                + (
                    f" ({request.tool_queries} of profiler/catalog tools, not explained)"
                    if request.tool_queries
                    else ""
                )
            )
        for number, item in enumerate(report.plans, 1):
            out.append("")
            sql = textwrap.shorten(" ".join(item.sql.split()), 380, placeholder=" …")
            out.append(
                textwrap.fill(
                    sql, render.WIDTH, initial_indent=f"[{number}] ", subsequent_indent="    "
                )
            )
            if item.params:
                params = ", ".join(repr(p) if isinstance(p, str) else str(p) for p in item.params)
                out.append(f"    params: {params}"[: render.WIDTH])
            out.extend(plan_lines(item.plan))
        out += ["", render.findings_block(report.findings)]
        return "\n".join(out)


def _num(value) -> str:
    if value is None:
        return "-"
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.2f}"


def plan_lines(document) -> list[str]:
    """One line per node (number, type, relation), details indented below, within 100 cols."""
    lines = []
    times = plantime.node_times(document)
    for node in walk(document["Plan"]):
        n = node.node
        pad = "  " * node.depth
        lines.append(f"  {pad}-> {node.label}"[: render.WIDTH])
        detail = f"cost={_num(n.get('Total Cost'))} rows={_num(n.get('Plan Rows'))}"
        if "Actual Rows" in n:
            detail += (
                f" | actual rows={_num(n['Actual Rows'])} loops={_num(n.get('Actual Loops'))}"
                f" time={_num(n.get('Actual Total Time'))} ms"
            )
        own = times[node.number]
        detail += f" | own {own.share:.1f} % of the {own.basis}"
        lines.append(f"  {pad}     {detail}"[: render.WIDTH])
        buffers = plantime.node_buffers(n)
        if buffers:
            text = ", ".join(f"{label}={blocks:,}" for label, blocks in buffers)
            lines.append(f"  {pad}     Buffers: {text}"[: render.WIDTH])
        hint = plantime.filter_hint(n)
        if hint:
            lines.extend(
                textwrap.wrap(
                    "hint: " + hint,
                    render.WIDTH,
                    initial_indent=f"  {pad}     ",
                    subsequent_indent=f"  {pad}       ",
                )
            )
        if n.get("Rows Removed by Filter"):
            lines.append(f"  {pad}     Rows Removed by Filter: {_num(n['Rows Removed by Filter'])}")
        for key in ("Index Cond", "Filter", "Recheck Cond", "Hash Cond", "Sort Key"):
            if key in n:
                value = n[key] if isinstance(n[key], str) else ", ".join(n[key])
                lines.append(f"  {pad}     {key}: {value}"[: render.WIDTH])
    for key in ("Planning Time", "Execution Time"):
        if key in document:
            lines.append(f"  {key}: {document[key]:.3f} ms")
    return lines
