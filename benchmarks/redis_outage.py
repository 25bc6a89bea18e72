"""What a Redis outage costs a request: the app with Redis up, hung, down, and without Redis.

Serves the app under gunicorn (sync workers, or the uvicorn worker) with ``REDIS_URL`` pointing
at a Redis of its own on a free port (never the machine's), which goes through three states in
turn: up; hung (frozen with SIGSTOP: the kernel still accepts connections, nothing answers);
down (killed: connections refused). A second app has no Redis at all ("none"). In each state
one client sends the same sequence of requests (a write, the global statistics, the task list)
one at a time, after unmeasured warm-up requests, and the script prints the latency per state:
median, 95th percentile, and the slowest requests. Under a hung Redis the slowest is a request
that waited for the timeout before its worker's breaker opened (once per worker process that
met the outage). Each round repeats all four states, so the shared machine's noise spreads over
all of them.

    .venv/bin/python -m benchmarks.redis_outage                 # sync workers
    .venv/bin/python -m benchmarks.redis_outage --kind asgi --rounds 5 --requests 60

The database is the configured one (the embedded dev server unless DATABASE_URL; migrated, as
`make run` leaves it); the script adds two users of its own (``redis-bench``, staff
``redis-bench-staff``) and their tasks. docs/operations.md quotes its output.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATES = ("up", "hung", "down", "none")


def _environment() -> None:
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.update(
        {
            "DEBUG": "0",
            "EMBEDDED_PG": "1",  # the embedded dev server unless DATABASE_URL is set
            "DJANGO_SETTINGS_MODULE": "taskproject.settings",
        }
    )
    for name in ("REDIS_URL", "DATABASE_REPLICA_URLS"):
        os.environ.pop(name, None)
    sys.path.insert(0, str(ROOT))


def _tokens() -> tuple[str, str]:
    from tasks import services
    from tasks.models import User

    tokens = []
    for username, staff in (("redis-bench", False), ("redis-bench-staff", True)):
        user, _ = User.objects.get_or_create(
            username=username,
            defaults={"email": f"{username}@example.com", "full_name": username, "is_staff": staff},
        )
        tokens.append(services.token_issue(user=user)[1])
    return tokens[0], tokens[1]


def _request(base: str, method: str, path: str, token: str, body=None) -> tuple[int, float]:
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    headers = {"Authorization": f"Token {token}"}
    payload = None
    if body is not None:
        payload = json.dumps(body).encode()
        headers["Content-Type"] = "application/json"
    started = time.perf_counter()
    try:
        conn.request(method, path, body=payload, headers=headers)
        response = conn.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    finally:
        conn.close()


def _wait_redis_up(base: str) -> None:
    deadline = time.monotonic() + 30
    seen = 0
    while seen < 6:
        if time.monotonic() > deadline:
            raise RuntimeError("Redis never reported up again")
        host, port = base.removeprefix("http://").split(":")
        conn = http.client.HTTPConnection(host, int(port), timeout=30)
        conn.request("GET", "/health/")
        body = json.loads(conn.getresponse().read())
        conn.close()
        seen = seen + 1 if body.get("redis") == "up" else 0
        time.sleep(0.05)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.redis_outage",
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--kind", choices=("sync", "asgi"), default="sync", help="gunicorn worker class"
    )
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--rounds", type=int, default=3, help="rounds over the four states")
    parser.add_argument(
        "--requests", type=int, default=30, help="(write, stats, list) sequences per state"
    )
    args = parser.parse_args(argv)
    _environment()
    import django

    django.setup()
    from benchmarks.servers import gunicorn
    from taskproject.redisparts import RedisServer

    writer, staff = _tokens()
    app = "taskproject.wsgi:application" if args.kind == "sync" else "taskproject.asgi:application"
    steps = [
        ("write", "POST", "/api/tasks/", writer, {"title": "redis outage bench"}),
        ("global stats", "GET", "/api/tasks/stats/?scope=global", staff, None),
        ("list", "GET", "/api/tasks/", writer, None),
    ]
    expected = {"write": 201, "global stats": 200, "list": 200}
    # (seconds, position of the request in its state's run: 1 = the first after the change)
    latencies: dict[str, list[tuple[float, int]]] = {state: [] for state in STATES}
    failed = 0

    def run(base: str, state: str | None, count: int) -> None:
        nonlocal failed
        position = 0
        for _ in range(count):
            for what, method, path, token, body in steps:
                status, seconds = _request(base, method, path, token, body)
                failed += status != expected[what]
                position += 1
                if state is not None:
                    latencies[state].append((seconds, position))

    def warm(base: str) -> None:
        # Both workers: their first requests (connections, lazy imports) are not measured.
        threads = [threading.Thread(target=run, args=(base, None, 5)) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def serve(env: dict):
        env = {"LOG_LEVEL": "ERROR", **env, **({"DB_POOL": "1"} if args.kind == "asgi" else {})}
        # Started on the liveness probe, which asks no dependency.
        return gunicorn(app, env=env, workers=args.workers, kind=args.kind, health="/health/live/")

    with tempfile.TemporaryDirectory(prefix="redis-outage-", dir=ROOT / "var") as tmp:
        for round_ in range(args.rounds):
            redis_server = RedisServer(base=Path(tmp) / f"redis-{round_}")
            redis_server.start()
            try:
                with serve({"REDIS_URL": redis_server.url}) as base:
                    warm(base)
                    run(base, "up", args.requests)
                    # Hung: the server accepts connections and answers nothing. The first
                    # request of each worker waits for the timeout, then the breaker is open.
                    redis_server.freeze()
                    run(base, "hung", args.requests)
                    redis_server.thaw()
                    _wait_redis_up(base)
                    redis_server.kill()  # down: connections refused
                    run(base, "down", args.requests)
            finally:
                redis_server.stop()
            with serve({}) as base:
                warm(base)
                run(base, "none", args.requests)
            print(f"round {round_ + 1}/{args.rounds} done", file=sys.stderr)

    print(
        f"{args.kind} workers x{args.workers}, {args.rounds} rounds x {args.requests} x "
        f"(write, global stats, list), one client; latency in ms"
    )
    print(f"{'Redis':<6} {'requests':>8} {'median':>8} {'p95':>8}  slowest three (#position)")
    for state in STATES:
        timed = sorted(latencies[state])
        values = [seconds for seconds, _ in timed]
        p95 = values[int(0.95 * (len(values) - 1))]
        slowest = " ".join(f"{v * 1000:.1f} (#{n})" for v, n in timed[-1:-4:-1])
        print(
            f"{state:<6} {len(values):>8} {statistics.median(values) * 1000:>8.1f} "
            f"{p95 * 1000:>8.1f}  {slowest}"
        )
    print(f"failed requests (not 201/200): {failed}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
