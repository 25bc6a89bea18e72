from perfaudit import render, services
from perfaudit.management.base import PerfauditCommand


class Command(PerfauditCommand):
    help = "Connection setup, pool stats, pg_stat_activity by state, and connection headroom."

    def build(self, options):
        return services.db_connections(using=options["database"])

    def render_text(self, report, options):
        setup, head = report.setup, report.headroom
        pool = setup.pool
        out = [
            render.header(report, "Connections"),
            "",
            f"Django: CONN_MAX_AGE={setup.conn_max_age}  "
            f"CONN_HEALTH_CHECKS={setup.conn_health_checks}  pool={pool or 'off'}",
        ]
        if setup.pool_stats:
            stats = ", ".join(f"{k}={v}" for k, v in sorted(setup.pool_stats.items()))
            out.append(f"pool stats (this process): {stats}")
        out += [
            "",
            render.table(
                ("database", "application", "state", "conns", "oldest xact s", "oldest query s"),
                [
                    (
                        g.database,
                        g.application,
                        g.state,
                        g.connections,
                        g.oldest_xact_seconds,
                        g.oldest_query_seconds,
                    )
                    for g in report.activity
                ],
            ),
            "",
        ]
        out.append(
            f"Headroom: max_connections {head.max_connections} - superuser reserved "
            f"{head.superuser_reserved_connections} - reserved {head.reserved_connections}"
            f" = {head.available_to_apps} for apps (in use now: {head.in_use})"
        )
        out.append(
            f"          {head.app_processes} app processes x {head.connections_per_process}"
            f" connections = {head.app_demand}; headroom {head.headroom}"
        )
        out += ["", render.findings_block(report.findings)]
        return "\n".join(out)
