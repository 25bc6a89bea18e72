"""Benchmark runner: `make bench` (10k users / 1M tasks) and `make bench-quick` (small, fast).

Every figure is measured side by side with its baseline in the same run (rounds alternate the
two sides, medians reported), on a separate benchmark database that never touches the dev data:
its own embedded PostgreSQL under var/bench-pg (or BENCH_DATABASE_URL). The sides never overlap:
each timed run starts once the servers are idle and the database runs no statement left over
from the run before (run_rounds, benchmarks/quiesce.py).

Steps: prepare the dataset (reused when it already matches) -> count queries per request and
EXPLAIN every query our endpoints run (a sequential scan on tasks fails the run, exit 1) ->
serve the app under gunicorn (sync workers, and uvicorn workers for ASGI) -> drive load with wrk
-> write benchmarks/results/<date>-<host>.md and PNG plots, print a summary.
"""

from __future__ import annotations

import argparse
import os
import platform
import secrets
import socket
import statistics
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

# Scenario definitions live in benchmarks/definitions.py, so benchmarks/scenarios.py does not
# import this runner (which imports the scenarios).
from benchmarks.definitions import Scenario, Side

__all__ = ["Scenario", "Side"]

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "results"


@dataclass(frozen=True)
class Profile:
    name: str
    users: int
    tasks: int
    seed: int
    rounds: int
    seconds: float
    warmup: float
    workers: int
    low_connections: int
    high_connections: int


FULL = Profile("full", 10_000, 1_000_000, 42, 5, 5, 2, 2, 4, 64)
QUICK = Profile("quick", 200, 20_000, 42, 2, 1, 1, 2, 4, 32)


def bench_environment(profile: Profile) -> dict[str, str]:
    env = {
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,testserver",
        "BENCHMARK_BASELINES": "1",
        "LOG_LEVEL": "WARNING",
        "DB_APPLICATION_NAME": "taskproject-bench",
        "SILK_ENABLED": "0",
    }
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        env["DATABASE_URL"] = url
    else:
        env["EMBEDDED_PG_DIR"] = str(ROOT / "var" / f"bench-pg-{profile.name}")
        env["EMBEDDED_PG"] = "1"  # DEBUG off: the embedded server only when asked for
        os.environ.pop("DATABASE_URL", None)
    return env


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def median(values):
    return statistics.median(values) if values else float("nan")


def run_rounds(group, *, rounds: int, seconds: float, warmup: float, run_side, settle) -> None:
    """Warm every side up, then ``rounds`` timed runs of each side of each scenario in ``group``
    (scenarios sharing their servers), into ``scenario.results``.

    Sides never overlap: ``settle()`` runs before every timed run and returns only when the
    run before it (the other side's, or a warm-up) has no request left in flight on any server
    nor a statement in the database (benchmarks/quiesce.py), so a slow baseline's leftovers are
    never timed as ours. The order alternates from one round to the next (sides within a
    scenario, and the scenarios of the group), so slow drift of the machine hits all alike; a
    group's scenarios are measured in the same rounds, so figures that combine them (the
    PgBouncer share) compare runs made side by side. ``run_side(scenario, side, seconds)``
    drives one side and returns its sample.
    """
    for scenario in group:
        for side in (scenario.baseline, scenario.ours):
            run_side(scenario, side, warmup)  # untimed
    for round_no in range(rounds):
        forward = round_no % 2 == 0
        for scenario in group if forward else list(reversed(group)):
            sides = [("baseline", scenario.baseline), ("ours", scenario.ours)]
            for role, side in sides if forward else list(reversed(sides)):
                settle()
                sample = run_side(scenario, side, seconds)
                scenario.results.setdefault(role, []).append(sample)


def measure(scenarios, profile: Profile, tokens: dict[str, str], servers_env: dict) -> None:
    from contextlib import ExitStack

    from django.db import connection

    from benchmarks.load import wrk
    from benchmarks.quiesce import settle

    # Scenarios that need the same set of servers share one start (and are measured in the
    # same rounds).
    groups: dict[tuple, list[Scenario]] = {}
    for scenario in scenarios:
        key = tuple(
            sorted((name, tuple(sorted(env.items()))) for name, env in scenario.servers.items())
        )
        groups.setdefault(key, []).append(scenario)

    for key, group in groups.items():
        with ExitStack() as stack:
            bases = start_servers(key, stack, servers_env, profile)
            if bases is None:
                log(f"skipping {', '.join(s.name for s in group)}")
                continue

            def run_side(scenario, side, seconds, bases=bases):
                return wrk(
                    bases[side.server] + side.path,
                    seconds=seconds,
                    connections=scenario.connections,
                    token=tokens[side.user],
                )

            def quiet(bases=bases):
                settled = settle([base.pid for base in bases.values()], connection)
                if settled.cancelled:
                    log(f"cancelled {settled.cancelled} statement(s) still running")

            run_rounds(
                group,
                rounds=profile.rounds,
                seconds=profile.seconds,
                warmup=profile.warmup,
                run_side=run_side,
                settle=quiet,
            )
            for scenario in group:
                b = median([s.rps for s in scenario.results["baseline"]])
                o = median([s.rps for s in scenario.results["ours"]])
                log(
                    f"{scenario.name}: {scenario.baseline.label} {b:,.0f} req/s vs "
                    f"{scenario.ours.label} {o:,.0f} req/s (x{o / b:.2f})"
                )


def start_servers(key: tuple, stack, servers_env: dict, profile: Profile) -> dict | None:
    """Start a group's servers (and what they sit behind) on ``stack``: name -> ServerURL, or
    None when a part cannot run here."""
    from benchmarks.servers import gunicorn

    bases, shared = {}, {}
    for name, extra in key:
        extra = dict(extra)
        try:
            extra.update(deployment_parts(extra, stack, servers_env, profile, shared))
        except RuntimeError as exc:
            log(f"cannot start {name}: {exc}")
            return None
        kind = extra.pop("_kind", "sync")
        default_app = "taskproject.wsgi" if kind == "sync" else "taskproject.asgi"
        custom_app = extra.pop("_app", None)
        app = custom_app or f"{default_app}:application"
        bases[name] = stack.enter_context(
            gunicorn(
                app,
                env={**servers_env, **extra},
                workers=profile.workers,
                kind=kind,
                # The floor app has no /health/: any HTTP answer (its 401) means it is up.
                healthy=(lambda status: status < 500)
                if custom_app
                else (lambda status: status == 200),
            )
        )
        log(f"server {name}: {app} ({kind}, {profile.workers} workers) at {bases[name]}")
    return bases


def deployment_parts(extra: dict, stack, servers_env: dict, profile: Profile, shared: dict) -> dict:
    """Start what a server of a scenario sits behind: PgBouncer (``_pgbouncer``) or a streaming
    replica (``_replica``) of the benchmark's embedded server. Returns the env to add. The
    servers of one group share one PgBouncer (``shared``): the app and the floor go through the
    same pooler."""
    pooled, replicated = extra.pop("_pgbouncer", None), extra.pop("_replica", None)
    if not (pooled or replicated):
        return {}
    if "EMBEDDED_PG_DIR" not in servers_env:
        raise RuntimeError("PgBouncer/replica scenarios need the embedded benchmark server")
    from urllib.parse import quote

    from taskproject.embedded_db import EmbeddedServer
    from taskproject.pgparts import PgBouncer, ReplicaServer

    server = EmbeddedServer(base=Path(servers_env["EMBEDDED_PG_DIR"]))
    server.ensure_running()
    if pooled:
        bouncer = shared.get("pgbouncer")
        if bouncer is None:
            # As many server connections as the direct side's workers hold: same capacity.
            bouncer = shared["pgbouncer"] = PgBouncer(
                server=server,
                base=server.base.parent / f"{server.base.name}-pgbouncer",
                pool_size=profile.workers,
            ).start()
            stack.callback(bouncer.stop)
            log(f"pgbouncer (transaction mode, pool {profile.workers}) on port {bouncer.port}")
        return {"DATABASE_URL": bouncer.url(server.dbname), "DB_TRANSACTION_POOLER": "1"}
    replica = ReplicaServer(
        base=server.base.parent / f"{server.base.name}-replica",
        dbname=server.dbname,
        primary=server,
    )
    if replica.is_initialised() and not replica.is_running():
        # A base backup from an earlier run may be too old to catch up: take a fresh one.
        import shutil

        shutil.rmtree(replica.base, ignore_errors=True)
    replica.ensure_running()
    stack.callback(replica.stop)
    host = quote(str(replica.socket_dir), safe="")
    log(f"streaming replica at {replica.socket_dir}")
    return {
        "DATABASE_REPLICA_URLS": f"postgresql://postgres@{host}:5432/{server.dbname}",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10"),
        "CACHE_KEY_PREFIX": f"bench-{secrets.token_hex(4)}",
    }


def migrate_silk(env: dict) -> None:
    """Create silk's tables on the benchmark database (the runner itself runs with silk off).

    The silk scenarios start servers with SILK_ENABLED=1, which write to those tables.
    """
    import subprocess

    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "--verbosity", "0", "--skip-checks"],
        cwd=ROOT,
        env={**os.environ, **env, "SILK_ENABLED": "1", "SILK_SAMPLE_PERCENT": "0"},
        check=True,
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small dataset, short rounds")
    parser.add_argument("--only", help="comma-separated scenario names to run")
    parser.add_argument("--no-report", action="store_true", help="do not write results files")
    parser.add_argument("--rounds", type=int, help="override the profile's rounds")
    parser.add_argument("--seconds", type=float, help="override the profile's seconds per round")
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    from dataclasses import replace

    if args.rounds:
        profile = replace(profile, rounds=args.rounds)
    if args.seconds:
        profile = replace(profile, seconds=args.seconds)

    env = bench_environment(profile)
    os.environ.update(env)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskproject.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()

    from benchmarks import dataset, plans, report
    from benchmarks import scenarios as scenario_defs
    from benchmarks.load import require_wrk

    require_wrk()
    started = time.monotonic()
    migrate_silk(env)
    log(
        f"profile {profile.name}: {profile.users:,} users / {profile.tasks:,} tasks, "
        f"{profile.rounds} rounds x {profile.seconds:g} s, {profile.workers} gunicorn workers"
    )
    info = dataset.prepare(profile, log=log)
    tokens = info.tokens
    chosen = scenario_defs.build(profile, info, set(args.only.split(",")) if args.only else None)

    log("counting queries per request and checking plans on the benchmark database")
    plan_failures = plans.check(chosen, info, log=log)

    measure(chosen, profile, tokens, env)
    elapsed = time.monotonic() - started
    if not args.no_report:
        path = report.write(
            chosen,
            profile,
            info,
            plan_failures,
            elapsed=elapsed,
            # Quick runs only keep the runner working: their reports stay out of git.
            results_dir=RESULTS if profile.name == "full" else ROOT / "var" / "bench-results",
        )
        log(f"report: {path.relative_to(ROOT)}")
    report.print_summary(chosen)
    bad_responses = [
        f"{s.name}/{role}: {sum(x.non_2xx + x.socket_errors for x in samples)} failed responses"
        for s in chosen
        for role, samples in s.results.items()
        if any(x.non_2xx or x.socket_errors for x in samples)
    ]
    problems = plan_failures + bad_responses
    if problems:
        log(f"FAILED: {len(problems)} problem(s):")
        for problem in problems:
            log(f"  {problem}")
        return 1
    return 0


def host_name() -> str:
    return socket.gethostname().split(".")[0] or platform.node() or "host"


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


if __name__ == "__main__":
    sys.exit(main())
