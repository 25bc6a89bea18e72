"""gunicorn's settings in the Docker image: ``gunicorn -c python:taskproject.gunicorn_conf``.

Configuration from the environment, as gunicorn itself documents it: ``PORT`` (default 8000, on
every interface), ``WEB_CONCURRENCY`` (worker processes; default 2 x CPUs + 1, at most 8), and
``GUNICORN_CMD_ARGS``, which overrides anything set here (``--workers 2 --timeout 60``), as the
command line does. ``make run`` does not use this file.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping

from taskproject.env import Env

DEFAULT_PORT = 8000
MAX_DEFAULT_WORKERS = 8
# Docker allows a stopping container 10 s (docker stop, compose's stop_grace_period) between
# SIGTERM and SIGKILL; gunicorn's default 30 s graceful timeout would let Docker kill workers with
# requests in flight. In-flight requests get 8 s; a longer request is cut by the statement
# timeout (DB_STATEMENT_TIMEOUT_MS, 10 s) anyway.
GRACEFUL_TIMEOUT = 8


def _cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def options(environ: Mapping[str, str]) -> dict:
    env = Env(environ)
    port = env.int("PORT", DEFAULT_PORT, minimum=1, maximum=65535)
    workers = env.int("WEB_CONCURRENCY", min(2 * _cpus() + 1, MAX_DEFAULT_WORKERS), minimum=1)
    return {
        "bind": [f"0.0.0.0:{port}"],
        "workers": workers,
        "graceful_timeout": GRACEFUL_TIMEOUT,
        "accesslog": "-",
        # gunicorn >= 25 opens a control socket under $HOME/.gunicorn: the app user has no home
        # and the root file system may be read-only (docker run --read-only).
        "control_socket_disable": True,
        # Worker heartbeat files: on a tmpfs (Docker mounts one at /dev/shm), not on the disk
        # (a read-only root has no writable /tmp).
        "worker_tmp_dir": "/dev/shm",  # noqa: S108 - gunicorn's documented choice for containers
    }


def on_starting(server):
    """Import the settings once in the master, before any worker forks: a missing DATABASE_URL or
    SECRET_KEY stops the container at once with one line naming the variable, instead of each
    worker failing to boot with a traceback until gunicorn gives up."""
    from django.core.exceptions import ImproperlyConfigured

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskproject.settings")
    os.environ.setdefault("TASKPROJECT_WEB", "1")  # as wsgi.py and asgi.py: the settings read it
    try:
        importlib.import_module(os.environ["DJANGO_SETTINGS_MODULE"])
    except ImproperlyConfigured as exc:
        server.log.error("Configuration error: %s", exc)
        raise SystemExit(1) from None


globals().update(options(os.environ))
