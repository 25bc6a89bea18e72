"""Bounded load with wrk (time-limited, fixed connections), parsed from a JSON line."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

LUA = Path(__file__).with_name("wrk_json.lua")


@dataclass(frozen=True)
class Sample:
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    requests: int
    non_2xx: int
    socket_errors: int


def require_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise SystemExit(
            "benchmarks need wrk: apt-get install -y wrk (make bench installs it when run as root)"
        )
    return path


def wrk(url: str, *, seconds: float, connections: int, token: str | None) -> Sample:
    """One bounded run: ``seconds`` long, ``connections`` concurrent, 1 client thread."""
    if not url.startswith("http://127.0.0.1:"):
        raise ValueError(f"benchmarks only target 127.0.0.1, not {url}")
    command = [
        require_wrk(),
        "-t1",
        f"-c{connections}",
        f"-d{max(seconds, 1):.0f}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
    ]
    if token:
        command += ["-H", f"Authorization: Token {token}"]
    result = subprocess.run(  # noqa: S603 - fixed command line, loopback URL checked above
        [*command, url], capture_output=True, text=True, timeout=seconds + 60, check=True
    )
    line = [ln for ln in result.stdout.splitlines() if ln.startswith("{")][-1]
    data = json.loads(line)
    return Sample(
        rps=data["rps"],
        p50_ms=data["p50_ms"],
        p95_ms=data["p95_ms"],
        p99_ms=data["p99_ms"],
        requests=data["requests"],
        non_2xx=data["non_2xx"],
        socket_errors=data["socket_errors"],
    )
