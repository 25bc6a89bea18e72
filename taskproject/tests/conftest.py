import shutil
import tempfile
from pathlib import Path

import pytest

from taskproject.embedded_db import ROOT, EmbeddedServer
from taskproject.redisparts import RedisServer
from taskproject.tests.deployment import migrate_and_seed


@pytest.fixture(scope="session")
def deploy_primary():
    """A primary of the tests' own (see taskproject/tests/deployment.py)."""
    (ROOT / "var").mkdir(exist_ok=True)
    base = Path(tempfile.mkdtemp(prefix="test-deploy-", dir=ROOT / "var")) / "pg"
    server = EmbeddedServer(base=base, dbname="deploy")
    server.ensure_running()
    try:
        yield migrate_and_seed(server, "deploy")
    finally:
        server.stop()
        shutil.rmtree(base.parent, ignore_errors=True)


@pytest.fixture
def redis_server(tmp_path):
    """A redis-server of the test's own on a free port (never the machine's Redis at 6379),
    to kill, freeze and restart (taskproject/redisparts.py)."""
    server = RedisServer(base=tmp_path / "redis")
    server.start()
    yield server
    server.stop()
