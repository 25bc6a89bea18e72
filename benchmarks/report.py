"""Markdown report + PNG plots for a benchmark run."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path


def _median(samples, attr):
    return statistics.median(getattr(s, attr) for s in samples)


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _versions() -> dict[str, str]:
    import django
    import psycopg

    wrk = subprocess.run(["wrk", "--version"], capture_output=True, text=True, check=False)  # noqa: S607
    return {
        "python": platform.python_version(),
        "django": django.get_version(),
        "psycopg": psycopg.__version__,
        "wrk": (wrk.stdout or wrk.stderr).splitlines()[0] if (wrk.stdout or wrk.stderr) else "?",
    }


def rows(scenarios):
    out = []
    for s in scenarios:
        base, ours = s.results.get("baseline"), s.results.get("ours")
        if not base or not ours:
            continue
        b_rps, o_rps = _median(base, "rps"), _median(ours, "rps")
        out.append(
            {
                "name": s.name,
                "question": s.question,
                "baseline": s.baseline.label,
                "ours": s.ours.label,
                "connections": s.connections,
                "b_rps": b_rps,
                "o_rps": o_rps,
                "ratio": o_rps / b_rps if b_rps else float("nan"),
                "b_lat": [_median(base, a) for a in ("p50_ms", "p95_ms", "p99_ms")],
                "o_lat": [_median(ours, a) for a in ("p50_ms", "p95_ms", "p99_ms")],
                "b_q": s.queries.get("baseline"),
                "o_q": s.queries.get("ours"),
                "errors": sum(x.non_2xx + x.socket_errors for x in base + ours),
            }
        )
    return out


def relative(scenarios, definitions=None) -> list[dict]:
    """Figures dividing one scenario's ratio by another's (benchmarks.scenarios.RELATIVE), for
    the pairs both measured in this run (in the same rounds: they share their servers)."""
    if definitions is None:
        from benchmarks.scenarios import RELATIVE as definitions
    ratios = {r["name"]: r["ratio"] for r in rows(scenarios)}
    return [
        {
            "name": name,
            "what": what,
            "numerator": ratios[top],
            "denominator": ratios[bottom],
            "value": ratios[top] / ratios[bottom],
            "goal": goal,
        }
        for name, what, top, bottom, goal in definitions
        if top in ratios and bottom in ratios
    ]


def _relative_line(r) -> str:
    verdict = "meets" if r["value"] >= r["goal"] else "below"
    return (
        f"{r['name']}: x{r['numerator']:.2f} / x{r['denominator']:.2f} = "
        f"**x{r['value']:.2f}** ({verdict} the goal x{r['goal']:.2f}; {r['what']})"
    )


def _fmt_q(value):
    return "n/a" if value is None else str(value)


def write(scenarios, profile, info, plan_failures, *, elapsed, results_dir: Path) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    host = platform.node().split(".")[0] or "host"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d")
    suffix = "" if profile.name == "full" else f"-{profile.name}"
    path = results_dir / f"{stamp}-{host}{suffix}.md"
    table = rows(scenarios)
    versions = _versions()
    lines = [
        f"# Benchmark results {stamp} ({profile.name})",
        "",
        f"Command: `make bench{'-quick' if profile.name == 'quick' else ''}` "
        f"(`python -m benchmarks.run{' --quick' if profile.name == 'quick' else ''}`), "
        f"{elapsed / 60:.1f} min.",
        "",
        "## Machine and setup",
        f"- CPU: {_cpu_model()}, {os.cpu_count()} cores; "
        f"RAM: {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB",
        f"- Python {versions['python']}, Django {versions['django']}, "
        f"psycopg {versions['psycopg']}, PostgreSQL {info.postgres}, {versions['wrk']}",
        f"- Data: {info.users:,} users / {info.tasks:,} tasks (seeddata --seed {profile.seed}); "
        f"benchmark owner has {info.owner_tasks} tasks",
        f"- Servers: gunicorn, {profile.workers} workers (sync, or uvicorn worker for ASGI), "
        "DEBUG off, on 127.0.0.1; load: wrk, 1 thread",
        f"- Each figure: median of {profile.rounds} rounds of {profile.seconds:g} s after a "
        f"{profile.warmup:g} s warm-up; baseline and ours alternate within each round, and "
        "scenarios sharing their servers run in the same rounds",
        "- Sides never overlap: before each timed run the runner waits until every server "
        "process is idle and the database runs no client statement (a statement still "
        "running after 5 s is cancelled), benchmarks/quiesce.py",
        "",
        "## Results",
        "",
        "| scenario | baseline | ours | conns | baseline req/s | ours req/s | ratio | "
        "baseline p50/p95/p99 ms | ours p50/p95/p99 ms | queries/req (base → ours) |",
        "|---|---|---|---:|---:|---:|---:|---|---|---|",
    ]
    for r in table:
        lines.append(
            f"| {r['name']} | {r['baseline']} | {r['ours']} | {r['connections']} | "
            f"{r['b_rps']:,.0f} | {r['o_rps']:,.0f} | **x{r['ratio']:.2f}** | "
            f"{' / '.join(f'{x:.1f}' for x in r['b_lat'])} | "
            f"{' / '.join(f'{x:.1f}' for x in r['o_lat'])} | "
            f"{_fmt_q(r['b_q'])} → {_fmt_q(r['o_q'])} |"
        )
    figures = relative(scenarios)
    if figures:
        lines += ["", "Relative figures (ratios of ratios, measured in the same rounds):", ""]
        lines += [f"- {_relative_line(r)}" for r in figures]
    lines += ["", "Scenario questions:", ""]
    lines += [f"- **{r['name']}**: {r['question']}" for r in table]
    errors = sum(r["errors"] for r in table)
    lines += [
        "",
        f"Non-2xx responses or socket errors during measurement: {errors}.",
        "",
        "## Plans",
        "",
        (
            "Every query our endpoints ran was EXPLAINed on this table: no sequential scan on "
            "tasks_task."
            if not plan_failures
            else "Sequential scans on tasks_task (the run failed):\n"
            + "\n".join(f"- `{f}`" for f in plan_failures)
        ),
        "",
        f"![throughput]({path.stem}-throughput.png)",
        f"![latency]({path.stem}-latency.png)",
        "",
    ]
    path.write_text("\n".join(lines))
    _plots(
        table, results_dir / f"{path.stem}-throughput.png", results_dir / f"{path.stem}-latency.png"
    )
    return path


def _plots(table, throughput_png: Path, latency_png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [r["name"] for r in table]
    x = range(len(names))
    width = 0.4
    fig, ax = plt.subplots(figsize=(11, 4.5), dpi=80)
    ax.bar([i - width / 2 for i in x], [r["b_rps"] for r in table], width, label="baseline")
    ax.bar([i + width / 2 for i in x], [r["o_rps"] for r in table], width, label="ours")
    ax.set_yscale("log")
    ax.set_ylabel("requests/s (median, log scale)")
    ax.set_xticks(list(x), names, rotation=30, ha="right")
    ax.legend()
    ax.set_title("Throughput per scenario")
    fig.tight_layout()
    fig.savefig(throughput_png)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(11, 4.5), dpi=80)
    for offset, key, label in ((-width / 2, "b_lat", "baseline"), (width / 2, "o_lat", "ours")):
        p50 = [r[key][0] for r in table]
        p99 = [r[key][2] for r in table]
        ax.bar([i + offset for i in x], p50, width, label=f"{label} p50")
        ax.scatter([i + offset for i in x], p99, marker="_", s=200, label=f"{label} p99")
    ax.set_yscale("log")
    ax.set_ylabel("latency ms (median of rounds, log scale)")
    ax.set_xticks(list(x), names, rotation=30, ha="right")
    ax.legend(fontsize=8)
    ax.set_title("Latency per scenario (bar p50, tick p99)")
    fig.tight_layout()
    fig.savefig(latency_png)
    plt.close(fig)


def print_summary(scenarios) -> None:
    print()
    print(f"{'scenario':<18} {'baseline':>16} {'ours':>16} {'ratio':>8}")
    for r in rows(scenarios):
        print(
            f"{r['name']:<18} {r['b_rps']:>12,.0f} r/s {r['o_rps']:>12,.0f} r/s {r['ratio']:>7.2f}x"
        )
    for r in relative(scenarios):
        print(_relative_line(r).replace("**", ""))
    sys.stdout.flush()
