"""Redis for fault tests and benchmarks: a real server of their own, and a host that hangs.

Never the machine's Redis (127.0.0.1:6379, shared with other work): :class:`RedisServer` runs
Debian's ``redis-server`` on a free port with its files in a directory of the caller's, so a test
can kill it, restart it empty or with its old data (``SAVE`` first), or freeze it (SIGSTOP: the
kernel still accepts connections, nothing answers). :class:`HungListener` is a TCP listener that
accepts connections and never answers. Used by ``taskproject/tests/test_redis_faults.py`` and
``benchmarks/redis_outage.py``; nothing in the app imports this module.
"""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from taskproject.pgparts import free_port

# Debian's redis-server package ships the server as a link to redis-check-rdb (redis-tools),
# which runs as the server under any other name: redis-tools alone is enough, and installing it
# starts no service (`make redis`).
REDIS_SERVER = (
    shutil.which("redis-server") or shutil.which("redis-check-rdb") or "/usr/bin/redis-server"
)


@dataclass
class RedisServer:
    base: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5, socket_connect_timeout=5)

    def start(self, *, with_data: bool = True) -> None:
        """Start on the same port; ``with_data=False`` drops the last SAVE's snapshot first."""
        self.base.mkdir(parents=True, exist_ok=True)
        if not with_data:
            (self.base / "dump.rdb").unlink(missing_ok=True)
        # No automatic snapshots: the data that survives a restart is exactly the last SAVE.
        # argv[0] "redis-server": the binary may be redis-check-rdb (see REDIS_SERVER).
        arguments = [
            "redis-server",
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--dir", str(self.base),
            "--dbfilename", "dump.rdb",
            "--save", "",
            "--appendonly", "no",
            "--logfile", str(self.base / "redis.log"),
        ]  # fmt: skip
        self.proc = subprocess.Popen(  # noqa: S603 - our own fixed command line
            arguments,
            executable=REDIS_SERVER,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                self.client().ping()
                return
            except redis.RedisError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        f"redis-server did not start; see {self.base}/redis.log"
                    ) from None
                time.sleep(0.05)

    def kill(self) -> None:
        """SIGKILL: gone at once, nothing saved."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a frozen server must be able to die
            self.proc.kill()
            self.proc.wait()

    def freeze(self) -> None:
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.proc.send_signal(signal.SIGCONT)

    def stop(self) -> None:
        self.kill()
        self.proc = None


class HungListener:
    """127.0.0.1:<port> accepts TCP connections and never sends a byte."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(512)
        self.port = self.sock.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed
                return
            self.accepted.append(conn)  # held open, never read, never answered

    def close(self) -> None:
        self.sock.close()
        for conn in self.accepted:
            conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
