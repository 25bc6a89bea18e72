"""The Docker image's HEALTHCHECK: GET /health/ on this container, exit 0 when it answers 200.

Standard library only (the image installs no curl), no Django import (it runs every interval).
The Host header is one the app accepts: the first ALLOWED_HOSTS entry that names a host (a
load balancer's health check meets the same rule), else ``localhost``.
"""

from __future__ import annotations

import http.client
import os
import sys
from collections.abc import Mapping

TIMEOUT_SECONDS = 4


def host_header(environ: Mapping[str, str]) -> str:
    for entry in environ.get("ALLOWED_HOSTS", "").split(","):
        entry = entry.strip()
        if entry and entry != "*":
            return entry.lstrip(".")  # ".example.com" allows example.com itself
    return "localhost"


def check(environ: Mapping[str, str] | None = None) -> tuple[bool, str]:
    environ = os.environ if environ is None else environ
    port = int(environ.get("PORT", "").strip() or 8000)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT_SECONDS)
    try:
        conn.request("GET", "/health/", headers={"Host": host_header(environ)})
        response = conn.getresponse()
        body = response.read(500).decode(errors="replace")
    except OSError as exc:
        return False, f"/health/ on port {port}: {exc}"
    finally:
        conn.close()
    return response.status == 200, f"/health/ on port {port}: {response.status} {body}"


def main() -> int:
    ok, message = check()
    print(message)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
