"""The web statement timeout behind a transaction pooler, without session state.

Behind PgBouncer in ``pool_mode = transaction`` a ``SET statement_timeout`` would stay on the
server connection and leak to whichever client gets it next, and the ``options`` startup
parameter is refused. So (``DB_TRANSACTION_POOLER=1``, web processes only):

- every transaction the app opens (``atomic()``: every write path) starts with
  ``SET LOCAL statement_timeout``: it ends with the transaction, on the same server connection;
- statements in autocommit (most reads: one statement, one transaction) get the role-level
  default the operator sets for the pooler's login role,
  ``ALTER ROLE <role> SET statement_timeout = '10s'`` (docs/scaling.md): PostgreSQL applies it
  when the pooler opens a server connection, and PgBouncer's ``DISCARD ALL`` resets to it.

The SET LOCAL costs one round trip per transaction (not per statement); reads pay nothing.
"""

from __future__ import annotations

from psycopg.pq import TransactionStatus


def install_local_timeout(sender, connection, **kwargs):
    """connection_created receiver: wrap every statement of this connection (once)."""
    if connection.vendor != "postgresql":
        return
    if local_timeout_wrapper not in connection.execute_wrappers:
        # First in the list: perfaudit's recorder (pushed per request) sees the SET LOCAL too.
        connection.execute_wrappers.insert(0, local_timeout_wrapper)


def local_timeout_wrapper(execute, sql, params, many, context):
    from django.conf import settings

    connection = context["connection"]
    raw = connection.connection
    # Not in autocommit, and no transaction open on the server yet: this statement opens one
    # (psycopg sends BEGIN first). Savepoints and later statements find it INTRANS.
    if (
        raw is not None
        and not connection.get_autocommit()
        and raw.info.transaction_status == TransactionStatus.IDLE
    ):
        with raw.cursor() as cursor:
            # A literal, no parameters: the simple query protocol, nothing prepared.
            cursor.execute(
                f"SET LOCAL statement_timeout = {int(settings.DB_STATEMENT_TIMEOUT_LOCAL_MS)}"
            )
    return execute(sql, params, many, context)
