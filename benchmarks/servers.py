"""Start the app (or the floor app) under gunicorn on 127.0.0.1 and wait until it answers."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).parent / "gunicorn")

WORKER_CLASSES = {
    "sync": "sync",
    "asgi": "uvicorn_worker.UvicornWorker",
    "gthread": "gthread",
}


class ServerURL(str):
    """The base URL of a started server, with the pid of its gunicorn master (the runner waits
    on it and its workers between timed runs: benchmarks/quiesce.py)."""

    pid: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def gunicorn(
    app: str,
    *,
    env: dict,
    workers: int,
    kind: str = "sync",
    threads: int = 1,
    health: str = "/health/",
    healthy=lambda status: status == 200,
):
    """Yield the base URL of ``app`` served by gunicorn (a ServerURL); stop it afterwards."""
    port = free_port()
    (ROOT / "var").mkdir(exist_ok=True)
    log = open(ROOT / "var" / f"gunicorn-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(  # noqa: S603 - our own fixed command line
        [
            GUNICORN,
            app,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--worker-class",
            WORKER_CLASSES[kind],
            "--threads",
            str(threads),
            "--graceful-timeout",
            "5",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = ServerURL(f"http://127.0.0.1:{port}")
    base.pid = proc.pid
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited early; see {log.name}")
            try:
                with urllib.request.urlopen(base + health, timeout=2) as response:  # noqa: S310
                    if healthy(response.status):
                        break
            except urllib.error.HTTPError as error:
                if healthy(error.code):
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{app} did not become healthy in 60 s; see {log.name}")
            time.sleep(0.2)
        yield base
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
