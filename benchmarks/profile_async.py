"""Profile one async endpoint in process: where a request's time goes, and its thread hops.

Drives ``taskproject.asgi.application`` (the whole ASGI stack: handler, middleware, view,
database) directly with ASGI messages on one event loop, no HTTP server, so the profile holds
only Django and this project. Prints, per request: thread hops (``sync_to_async`` calls, each a
round trip to a worker thread) and the top functions by own time under cProfile.

    .venv/bin/python -m benchmarks.profile_async                      # /api/async/tasks/
    .venv/bin/python -m benchmarks.profile_async --path /api/async/tasks/stats/ --requests 500

The database is the configured one (the embedded dev server unless DATABASE_URL): it takes the
user with the most tasks (``make run`` seeds the demo data). Settings as a production web process:
DEBUG off, silk off, the statement timeout on. docs/performance.md quotes its output.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import functools
import inspect
import io
import os
import pstats
import secrets
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def environment() -> None:
    os.environ.update(
        {
            "DEBUG": "0",
            "SILK_ENABLED": "0",
            "LOG_LEVEL": "WARNING",
            "TASKPROJECT_WEB": "1",
            "EMBEDDED_PG": "1",  # the embedded dev server unless DATABASE_URL is set
            "SECRET_KEY": os.environ.get("SECRET_KEY") or secrets.token_urlsafe(50),
            "DJANGO_SETTINGS_MODULE": "taskproject.settings",
        }
    )
    sys.path.insert(0, str(ROOT))


def token() -> str:
    from django.db.models import Count

    from tasks import services
    from tasks.models import User

    user = (
        User.objects.annotate(n=Count("tasks"))
        .filter(n__gt=0, is_active=True)
        .order_by("-n", "pk")
        .first()
    )
    if user is None:
        raise SystemExit("profile_async: no user with tasks (run `make run` once to seed)")
    _token_row, secret = services.token_issue(user=user)
    return secret


async def _request(app, path: str, secret: str) -> int:
    raw_path, _, query = path.partition("?")
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": raw_path,
        "raw_path": raw_path.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Token {secret}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }
    status = 0
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive():
        if messages:
            return messages.pop()
        # Django listens for the client's disconnect while the view runs: it never comes.
        await asyncio.Event().wait()

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--path", default="/api/async/tasks/?page_size=50")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=20)
    args = parser.parse_args(argv)
    environment()
    import django

    django.setup()
    from asgiref.sync import SyncToAsync
    from django.db import connections

    from taskproject.asgi import application

    secret = token()
    connections.close_all()  # the token was issued from this (sync) thread
    hops: Counter[str] = Counter()
    original = SyncToAsync.__call__

    async def counting(self, *a, **kw):
        func = self.func.func if isinstance(self.func, functools.partial) else self.func
        named = inspect.isfunction(func) or inspect.ismethod(func)
        hops[func.__qualname__ if named else type(func).__qualname__] += 1
        return await original(self, *a, **kw)

    async def run(count: int) -> float:
        started = time.perf_counter()
        for _ in range(count):
            status = await _request(application, args.path, secret)
            if status != 200:
                raise SystemExit(f"profile_async: {args.path} answered {status}")
        return time.perf_counter() - started

    loop = asyncio.new_event_loop()
    loop.run_until_complete(run(50))  # warm-up: connections, caches, imports
    SyncToAsync.__call__ = counting
    loop.run_until_complete(run(100))
    SyncToAsync.__call__ = original
    profiler = cProfile.Profile()
    profiler.enable()
    elapsed = loop.run_until_complete(run(args.requests))
    profiler.disable()

    print(f"{args.path}: {args.requests} requests in process, one event loop")
    print(f"  {elapsed / args.requests * 1e6:,.0f} us per request under cProfile")
    print(f"  thread hops per request: {sum(hops.values()) / 100:g}")
    for name, count in hops.most_common():
        print(f"    {count / 100:g} x {name}")
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime")
    stats.print_stats(args.top)
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
