"""Helpers for `make run`: the start-up banner and a clear message when the port is taken.

    python -m taskproject.devserver banner --host 127.0.0.1 --port 8000 [--login-file F]
    python -m taskproject.devserver check-port --host 127.0.0.1 --port 8000

The banner's URLs come from the URL configuration (reverse()), so it lists what is mounted:
/silk/ only when SILK_ENABLED is on, the debug toolbar only with DEBUG. ``check-port`` runs before
gunicorn: a busy port used to end in gunicorn's "Connection in use" retries and then the browser's
"Can't connect", with no hint of what to do.
"""

from __future__ import annotations

import argparse
import errno
import os
import socket
import sys
from pathlib import Path


def port_problem(host: str, port: int) -> str | None:
    """None when ``host:port`` can be bound; otherwise a one-line explanation and the way out."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # Like gunicorn: SO_REUSEADDR, so a port in TIME_WAIT after a restart counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return (
                    f"port {port} on {host} is already in use (another `make run`, or another "
                    f"server: `ss -ltnp 'sport = :{port}'` shows which); stop it, or pick "
                    f"another port: make run PORT={port + 1}"
                )
            if exc.errno == errno.EACCES:
                return f"no permission to listen on {host}:{port} (ports below 1024 need root)"
            return f"cannot listen on {host}:{port}: {exc.strerror}"
    return None


def banner_lines(host: str, port: int) -> list[str]:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskproject.settings")
    import django
    from django.conf import settings
    from django.urls import reverse

    django.setup()
    base = f"http://{host}:{port}"
    rows = [
        ("App", "/", "redirects to the API docs"),
        ("API docs", reverse("api-docs"), "OpenAPI UI (offline assets)"),
        ("API", reverse("task-list"), "browsable when logged in (session) or with a token"),
        ("Admin", reverse("admin:index"), "the demo login below: staff, not superuser"),
        ("Dashboard", reverse("admin:perfaudit_overview"), "perfaudit: queries, indexes, EXPLAIN"),
    ]
    if settings.SILK_ENABLED:
        rows.append(("Silk", reverse("silk:summary"), "request profiler (staff only)"))
    rows.append(("Health", reverse("health"), "readiness: database (and Redis, when configured)"))
    rows.append(("Liveness", reverse("health-live"), "the process answers; asks no dependency"))
    width = max(len(name) for name, _, _ in rows) + 1
    lines = [f"  {name + ':':<{width}} {base}{path:<28} {note}" for name, path, note in rows]
    if getattr(settings, "DEBUG_TOOLBAR", False):
        lines.append(f"  {'':<{width}} (debug toolbar: the tab at the right edge of HTML pages)")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m taskproject.devserver",
        description=__doc__.splitlines()[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("banner", "print the URLs `make run` serves"),
        ("check-port", "exit 2 with a message when the port cannot be bound"),
    ):
        command = sub.add_parser(
            name, help=text, formatter_class=argparse.ArgumentDefaultsHelpFormatter
        )
        command.add_argument("--host", default="127.0.0.1", help="address to serve on")
        command.add_argument("--port", type=int, default=8000, help="port to serve on")
        if name == "banner":
            command.add_argument(
                "--login-file", type=Path, default=None, help="a file whose line is printed last"
            )
    args = parser.parse_args(argv)
    if args.command == "check-port":
        problem = port_problem(args.host, args.port)
        if problem:
            print(f"make run: {problem}", file=sys.stderr)
            return 2
        return 0
    print()
    for line in banner_lines(args.host, args.port):
        print(line)
    if args.login_file and args.login_file.exists():
        print(f"  {args.login_file.read_text().strip()}")
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
