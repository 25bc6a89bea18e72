"""The deployment parts the tests and benchmarks start for real: PgBouncer and a streaming replica.

Both sit next to an :class:`~taskproject.embedded_db.EmbeddedServer` (its Unix socket is the
only way in). As root they run as the embedded server's system user: PostgreSQL and PgBouncer
both refuse to run as root. Used by ``taskproject/tests/test_pooler.py``,
``taskproject/tests/test_replicas.py`` and ``benchmarks/`` (the pooler and replica scenarios);
nothing in the app imports this module.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from taskproject.embedded_db import (
    PORT,
    SERVER_CONF,
    SUPERUSER,
    SYSTEM_USER,
    EmbeddedDatabaseError,
    EmbeddedServer,
)

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def _give_to_system_user(path: Path) -> None:
    if _as_root():
        shutil.chown(path, SYSTEM_USER, SYSTEM_USER)


# --- PgBouncer ---------------------------------------------------------------------------------

PGBOUNCER_INI = """\
; Written by taskproject/pgparts.py for a test or benchmark run.
[databases]
* = host={socket_dir} port={server_port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {base}/users.txt
admin_users = {admin}
stats_users = {admin}
pool_mode = transaction
default_pool_size = {pool_size}
; Server connections to the database in total, whatever the user: the tests assert this bound.
max_db_connections = {pool_size}
min_pool_size = 0
reserve_pool_size = 0
max_client_conn = 500
server_reset_query = DISCARD ALL
logfile = {base}/pgbouncer.log
pidfile = {base}/pgbouncer.pid
"""


@dataclass
class PgBouncer:
    """PgBouncer in ``pool_mode = transaction`` on 127.0.0.1, in front of ``server``."""

    server: EmbeddedServer
    base: Path
    pool_size: int = 2
    users: tuple[str, ...] = (SUPERUSER,)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None

    def url(self, dbname: str, user: str = SUPERUSER) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"

    @property
    def admin_url(self) -> str:
        return self.url("pgbouncer")

    def start(self) -> PgBouncer:
        if not Path(PGBOUNCER).exists():
            raise EmbeddedDatabaseError(
                "pgbouncer is not installed (make test installs Debian's package as root; "
                "otherwise: sudo apt-get install pgbouncer)"
            )
        self.base.mkdir(parents=True, exist_ok=True)
        ini = self.base / "pgbouncer.ini"
        ini.write_text(
            PGBOUNCER_INI.format(
                socket_dir=self.server.socket_dir,
                server_port=PORT,
                port=self.port,
                base=self.base,
                admin=SUPERUSER,
                pool_size=self.pool_size,
            )
        )
        (self.base / "users.txt").write_text("".join(f'"{u}" ""\n' for u in self.users))
        for path in (self.base, ini, self.base / "users.txt"):
            _give_to_system_user(path)
        kwargs = {"user": SYSTEM_USER} if _as_root() else {}
        self.process = subprocess.Popen(  # noqa: S603 - fixed command line
            [PGBOUNCER, str(ini)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            **kwargs,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                with psycopg.connect(self.admin_url, autocommit=True, connect_timeout=2) as conn:
                    conn.execute("SHOW VERSION")
                return self
            except psycopg.OperationalError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = self.base / "pgbouncer.log"
                    tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
                    raise EmbeddedDatabaseError(f"pgbouncer did not start:\n{tail}") from None
                time.sleep(0.1)

    def show(self, what: str) -> list[dict]:
        """``SHOW POOLS`` / ``SERVERS`` / ``CLIENTS`` ... on the admin console, as dicts."""
        with psycopg.connect(self.admin_url, autocommit=True) as conn:
            cursor = conn.execute(f"SHOW {what}")
            names = [c.name for c in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # SIGINT: immediate shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


# --- streaming replica -------------------------------------------------------------------------


@dataclass(frozen=True)
class ReplicaServer(EmbeddedServer):
    """A hot standby of ``primary``: ``pg_basebackup -R -X stream``, own data dir and socket.

    ``apply_delay_ms`` sets ``recovery_min_apply_delay``: the standby receives WAL at once but
    applies each commit that much later, so a reader that wrongly trusts it sees stale rows.
    """

    primary: EmbeddedServer | None = None
    apply_delay_ms: int = 0

    def is_running(self) -> bool:
        # A hot standby's postmaster.pid says "standby", not "ready".
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
            os.kill(int(lines[0]), 0)
        except (FileNotFoundError, PermissionError, ValueError, IndexError, ProcessLookupError):
            return False
        status = lines[7].strip() if len(lines) >= 8 else ""
        return status in {"ready", "standby"} and self.socket_path.exists()

    def _initdb(self) -> None:
        assert self.primary is not None, "a replica needs its primary"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        if self._as_root():
            self._prepare_root()
        self._run(
            [
                str(self._bin("pg_basebackup")),
                "-D",
                str(self.data_dir),
                "-R",
                "-X",
                "stream",
                "--checkpoint=fast",
                "-h",
                str(self.primary.socket_dir),
                "-p",
                str(PORT),
                "-U",
                SUPERUSER,
            ],
            timeout=300,
        )

    def _write_conf(self) -> None:
        # pg_basebackup copied the primary's taskproject.conf (its socket dir): replace it.
        text = SERVER_CONF.format(socket_dir=self.socket_dir, port=PORT) + (
            "hot_standby = on\n"
            f"recovery_min_apply_delay = '{self.apply_delay_ms}ms'\n"
            "shared_buffers = 64MB\n"
        )
        conf = self.data_dir / "taskproject.conf"
        conf.write_text(text)
        if self._as_root():
            shutil.chown(conf, SYSTEM_USER, SYSTEM_USER)

    def _ensure_database(self) -> None:
        # Read-only: the databases came with the base backup.
        pass

    def replay_lsn(self) -> int:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            return conn.execute("SELECT pg_last_wal_replay_lsn() - '0/0'::pg_lsn").fetchone()[0]

    def wait_replayed(self, lsn: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.replay_lsn() < lsn:
            if time.monotonic() > deadline:
                raise EmbeddedDatabaseError(f"replica did not replay {lsn} in {timeout} s")
            time.sleep(0.05)


def current_lsn(server: EmbeddedServer) -> int:
    with psycopg.connect(server.url("postgres"), autocommit=True) as conn:
        return conn.execute("SELECT pg_current_wal_lsn() - '0/0'::pg_lsn").fetchone()[0]
