"""Is an idle PostgreSQL connection still alive? Answered without a round trip.

Django's CONN_HEALTH_CHECKS runs ``SELECT 1`` before the first query of every request: a third
round trip on a two-statement request. A server that ends a session (pg_terminate_backend, a
restart, idle_session_timeout, a pooler's server_idle_timeout) sends a FATAL error and closes the
socket, so the socket of a dead idle connection is *readable* while we expect nothing from it.
``select()`` with a zero timeout tells that in a microsecond. A peer that vanished without a word
(a cable cut) still looks alive; its first statement then fails, the request answers 503, and
the broken connection is discarded (Django's errors_occurred path, asyncdb's release), so the
next request reconnects. A false "dead" (an unsolicited notice) costs one reconnect.
"""

from __future__ import annotations

import select

from psycopg import pq


def looks_alive(connection) -> bool:
    """False when the psycopg connection is closed, broken, or its server has hung up."""
    if connection is None or connection.closed or connection.broken:
        return False
    pgconn = connection.pgconn
    if pgconn.status != pq.ConnStatus.OK:
        return False
    try:
        readable, _, _ = select.select([pgconn.socket], [], [], 0)
    except (OSError, ValueError):  # the socket is gone
        return False
    return not readable
