"""Profile the sync task list in process: where a WSGI request's time goes, next to the floor.

Drives ``taskproject.wsgi.application`` (the whole WSGI stack: handler, middleware, DRF view,
database) directly with WSGI environ dicts, no HTTP server, so the timings hold only Django,
DRF and this project; then the bare psycopg floor (benchmarks/floor_app.py) the same way, so
the two per-request costs are measured side by side in one run (interleaved batches, medians).
Prints both costs, their ratio, and the top functions by own time (cProfile) for the app.

    .venv/bin/python -m benchmarks.profile_sync                       # /api/tasks/?page_size=50
    .venv/bin/python -m benchmarks.profile_sync --requests 5000 --top 40 --sort cumulative

The database is the configured one (the embedded dev server unless DATABASE_URL), the user the
one with the most tasks (``make run`` seeds the demo data). Settings as a production web
process: DEBUG off, silk off, the statement timeout on. The ratio here excludes the HTTP server
(gunicorn's parsing and writing cost both sides the same), so it is lower than the one
``make bench`` measures over HTTP (scenario "floor").
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import statistics
import sys
import time

from benchmarks.profile_async import environment, token


def environ_for(path: str, secret: str) -> dict:
    raw_path, _, query = path.partition("?")
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": raw_path,
        "QUERY_STRING": query,
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_AUTHORIZATION": f"Token {secret}",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }


def request(app, path: str, secret: str) -> int:
    """One request the way a WSGI server makes it: call, iterate the body, close it (which
    sends request_finished: Django's end-of-request connection handling runs too)."""
    status = []

    def start_response(line, headers, exc_info=None):
        status.append(int(line.split(" ", 1)[0]))

    body = app(environ_for(path, secret), start_response)
    try:
        for _chunk in body:
            pass
    finally:
        if hasattr(body, "close"):
            body.close()
    return status[0]


def run(app, path: str, secret: str, count: int) -> tuple[float, float]:
    """Wall and CPU seconds per request over ``count`` requests (each answer must be a 200).

    CPU time is this process's only: the database's work and the wait for it are not in it,
    so it is the figure a noisy shared machine disturbs least."""
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(count):
        status = request(app, path, secret)
        if status != 200:
            raise SystemExit(f"profile_sync: {path} answered {status}")
    return (time.perf_counter() - wall) / count, (time.process_time() - cpu) / count


def side_by_side(apps: dict, secret: str, *, batches: int, size: int) -> dict[str, tuple]:
    """Median (wall, CPU) seconds per request of each app, batches interleaved (alternating
    order, so a drift of the machine hits both alike)."""
    samples: dict[str, list[tuple[float, float]]] = {name: [] for name in apps}
    names = list(apps)
    for batch in range(batches):
        for name in names if batch % 2 == 0 else reversed(names):
            app, path = apps[name]
            samples[name].append(run(app, path, secret, size))
    return {
        name: tuple(statistics.median(column) for column in zip(*values, strict=True))
        for name, values in samples.items()
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="/api/tasks/?page_size=50")
    parser.add_argument("--requests", type=int, default=3000, help="profiled requests")
    parser.add_argument("--batches", type=int, default=9, help="timed batches per side")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--sort", default="tottime", choices=("tottime", "cumulative"))
    parser.add_argument("--clock", default="cpu", choices=("cpu", "wall"), help="cProfile's")
    args = parser.parse_args(argv)
    environment()
    import django

    django.setup()
    from django.db import connections

    from benchmarks import floor_app
    from taskproject.wsgi import application

    secret = token()
    connections.close_all()
    apps = {"app": (application, args.path), "floor": (floor_app.application, "/api/tasks/")}
    for app, path in apps.values():
        run(app, path, secret, 200)  # warm-up: connections, prepared statements, caches
    timings = side_by_side(apps, secret, batches=args.batches, size=args.batch_size)
    (app_wall, app_cpu), (floor_wall, floor_cpu) = timings["app"], timings["floor"]
    print(f"{args.path}: in process, no HTTP server (medians of {args.batches} batches)")
    print(f"  app   {app_wall * 1e6:7,.0f} us per request, {app_cpu * 1e6:7,.0f} us CPU")
    print(f"  floor {floor_wall * 1e6:7,.0f} us per request, {floor_cpu * 1e6:7,.0f} us CPU")
    print(
        f"  app/floor: throughput ratio {floor_wall / app_wall:.2f}x, "
        f"Python CPU above the floor {(app_cpu - floor_cpu) * 1e6:,.0f} us per request"
    )

    # The profile's clock: CPU time (the database's share is not ours to cut here) or wall.
    profiler = cProfile.Profile(time.process_time if args.clock == "cpu" else time.perf_counter)
    profiler.enable()
    run(application, args.path, secret, args.requests)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(args.sort)
    stats.print_stats(args.top)
    # Deterministic, unlike every timing here: the figure to compare across runs and machines.
    calls = pstats.Stats(profiler).total_calls / args.requests
    print(f"  Python function calls per app request: {calls:,.0f}")
    print(f"\ncProfile ({args.clock} clock) of {args.requests} app requests, by {args.sort}:")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
