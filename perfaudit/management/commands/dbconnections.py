from perfaudit import render, services
from perfaudit.management.base import PerfauditCommand

SESSION_COLUMNS = (
    "pid",
    "user",
    "application",
    "state",
    "wait",
    "query start",
    "query s",
    "xact s",
    "flags",
    "statement",
)


class Command(PerfauditCommand):
    help = (
        "Connection setup, pool stats, pg_stat_activity by state, connection headroom (with a "
        "transaction pooler and replicas), replication state and lag, and the pooler."
    )

    def add_command_arguments(self, parser):
        parser.add_argument(
            "--sessions",
            choices=("busy", "all", "none"),
            default="busy",
            help="list each session (pid, user, application, state, wait event, query start, "
            "transaction age, statement; blockers first): busy = all but the idle ones",
        )

    def build(self, options):
        listed = None if options["sessions"] == "none" else options["sessions"]
        return services.db_connections(using=options["database"], sessions=listed)

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
        doc = report.payload()
        head = doc["headroom"]
        if head["mode"] == "transaction_pooler":
            out.append(
                f"          behind a transaction pooler: {head['client_connections']} client "
                f"connections to the pooler (max_client_conn "
                f"{head['pooler_max_client_conn'] or '?'}); the server sees its pool of "
                f"{head['pooler_pool_size'] if head['pooler_pool_size'] is not None else '?'}"
            )
        for replica in head["replicas"]:
            available = replica["available_to_apps"]
            spare = replica["headroom"]
            out.append(
                f"          replica {replica['alias']}: {replica['demand']} connections of "
                f"{'?' if available is None else available} available; "
                f"headroom {'?' if spare is None else spare}"
            )
        if report.sessions is not None:
            out += ["", *self.render_sessions(report.sessions)]
        out += ["", *self.render_replication(doc["replication"])]
        out += ["", *self.render_pooler(doc["pooler"])]
        out += ["", render.findings_block(report.findings)]
        return "\n".join(out)

    def render_sessions(self, rows):
        def flags(r):
            marks = [f"blocks {', '.join(map(str, r.blocking))}"] if r.blocking else []
            marks += [f"waits for {', '.join(map(str, r.backend.blocked_by))}"] * r.blocked
            marks += ["LONG"] * r.long_running + ["IDLE IN XACT"] * r.idle_in_transaction
            return "; ".join(marks)

        table = render.table(
            SESSION_COLUMNS,
            [
                (
                    str(b.pid),
                    b.user,
                    b.application,
                    b.state,
                    f"{b.wait_event_type}/{b.wait_event}" if b.wait_event else "",
                    b.query_start.strftime("%H:%M:%S") if b.query_start else "",
                    b.query_seconds,
                    b.xact_seconds,
                    flags(r),
                    " ".join((b.query or "").split())[:80],
                )
                for r in rows
                for b in (r.backend,)
            ],
        )
        return ["Sessions (blockers first; statements cut at 80 characters)", table]

    def render_replication(self, snapshots):
        out = ["Replication"]
        rows = []
        for snap in snapshots:
            if snap["role"] == "primary":
                rows.append((snap["alias"], "primary", f"WAL at {snap['current_lsn']}", "", "", ""))
                for s in snap["standbys"]:
                    rows.append(
                        (
                            f"  -> {s['application_name'] or s['client_addr'] or 'standby'}",
                            "standby",
                            s["state"],
                            s["replay_lsn"],
                            s["lag_bytes"],
                            s["replay_lag_seconds"],
                        )
                    )
                if not snap["standbys"]:
                    rows.append(("  (no standby streaming from it)", "", "", "", "", ""))
            elif snap["role"] == "standby":
                r = snap["receiver"] or {}
                rows.append(
                    (
                        snap["alias"],
                        "standby",
                        f"receiver {r.get('status') or 'not running'}",
                        r.get("replay_lsn"),
                        r.get("lag_bytes"),
                        r.get("replay_age_seconds") if r.get("lag_bytes") else 0,
                    )
                )
            else:
                rows.append((snap["alias"], "unreachable", snap["error"], "", "", ""))
        out.append(
            render.table(("database", "role", "state", "replay LSN", "lag bytes", "lag s"), rows)
        )
        return out

    def render_pooler(self, pooler):
        mode = "on" if pooler["transaction_pooler"] else "off"
        out = [f"Transaction pooler mode: {mode}"]
        if pooler["admin_configured"]:
            if pooler["admin_error"]:
                out.append(f"pooler admin console: {pooler['admin_error']}")
            else:
                out.append(
                    render.table(
                        (
                            "database",
                            "user",
                            "mode",
                            "cl_active",
                            "cl_waiting",
                            "sv_active",
                            "sv_idle",
                            "sv_used",
                            "maxwait",
                        ),
                        [
                            (
                                p.get("database"),
                                p.get("user"),
                                p.get("pool_mode"),
                                p.get("cl_active"),
                                p.get("cl_waiting"),
                                p.get("sv_active"),
                                p.get("sv_idle"),
                                p.get("sv_used"),
                                p.get("maxwait"),
                            )
                            for p in pooler["pools"]
                        ],
                    )
                )
        if pooler["transaction_pooler"] or pooler["admin_configured"]:
            out.append("this role's server connections (behind a pooler: the pool's):")
            out.append(
                render.table(
                    ("client address", "application", "state", "conns"),
                    [
                        (
                            b["client_addr"] or "(unix socket)",
                            b["application"],
                            b["state"],
                            b["connections"],
                        )
                        for b in pooler["backends"]
                    ],
                )
            )
        return out
