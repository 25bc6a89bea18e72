"""`make run`'s banner lists every URL it serves; a taken port stops it with a clear message."""

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from taskproject import devserver
from taskproject.tests.test_settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


def test_taken_port_is_a_one_line_error_with_the_way_out():
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "taskproject.devserver", "check-port", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert f"make run PORT={port + 1}" in result.stderr


def test_free_port_passes():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    assert devserver.port_problem("127.0.0.1", port) is None


BANNER = "from taskproject.devserver import banner_lines; print('\\n'.join(banner_lines('h', 1)))"


@pytest.mark.parametrize("silk", ["1", "0"])
def test_banner_lists_every_url(silk):
    result = load_settings(BANNER, DEBUG="1", SILK_ENABLED=silk)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    urls = ("/api/docs/", "/api/tasks/", "/admin/", "/admin/perfaudit/dashboard/", "/health/")
    for url in (*urls, "/health/live/"):
        assert f"http://h:1{url} " in out, out
    assert ("http://h:1/silk/" in out) is (silk == "1")
    assert "debug toolbar" in out
