"""The embedded PostgreSQL: initialised once, shared by concurrent processes, data persists."""

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

from taskproject.embedded_db import ROOT, EmbeddedServer

START = (
    "import sys; from pathlib import Path; from taskproject.embedded_db import EmbeddedServer; "
    "EmbeddedServer(base=Path(sys.argv[1]), dbname='probe').ensure_running()"
)


@pytest.fixture(scope="module")
def server():
    # Under var/ (not /tmp/pytest-of-root, which is private): the server's system user must be
    # able to reach the directory when the tests run as root.
    (ROOT / "var").mkdir(exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="test-pg-", dir=ROOT / "var")) / "pg"
    srv = EmbeddedServer(base=base, dbname="probe")
    yield srv
    srv.stop()
    shutil.rmtree(base.parent, ignore_errors=True)


def test_concurrent_first_starts_initialise_one_server(server):
    procs = [
        subprocess.Popen([sys.executable, "-c", START, str(server.base)], cwd=ROOT)
        for _ in range(3)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0]
    assert server.is_running()
    pids = {server.data_dir.joinpath("postmaster.pid").read_text().split()[0]}
    assert len(pids) == 1


def test_server_settings_needed_by_perfaudit(server):
    server.ensure_running()
    with psycopg.connect(server.url()) as conn:
        preload = conn.execute("SHOW shared_preload_libraries").fetchone()[0]
        io_timing = conn.execute("SHOW track_io_timing").fetchone()[0]
        version = int(conn.execute("SHOW server_version_num").fetchone()[0])
        listen = conn.execute("SHOW listen_addresses").fetchone()[0]
    assert "pg_stat_statements" in preload
    assert io_timing == "on"
    assert version >= 180000
    assert listen == ""  # socket only: never collides with another server's TCP port


def test_data_persists_across_stop_and_start(server):
    server.ensure_running()
    with psycopg.connect(server.url(), autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS kept (v int)")
        conn.execute("INSERT INTO kept VALUES (42)")
    assert server.stop() is True
    assert not server.is_running()
    server.ensure_running()
    with psycopg.connect(server.url()) as conn:
        assert conn.execute("SELECT v FROM kept").fetchall() == [(42,)]


def test_refuses_a_foreign_data_directory():
    (ROOT / "var").mkdir(exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="test-pg-", dir=ROOT / "var"))
    try:
        (base / "data").mkdir()
        (base / "data" / "notes.txt").write_text("not a cluster")
        with pytest.raises(RuntimeError, match="not a PostgreSQL data directory"):
            EmbeddedServer(base=base).ensure_running()
    finally:
        shutil.rmtree(base, ignore_errors=True)
