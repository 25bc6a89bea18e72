"""Django's PostgreSQL backend with a health check that costs no round trip.

ENGINE ``taskproject.db_backend`` for every configured database (DATABASE_URL and the replicas;
the embedded backend subclasses it). Two additions:

- ``is_usable()`` (what CONN_HEALTH_CHECKS calls before a request's first query) asks the socket
  (taskproject.liveness) instead of running ``SELECT 1``;
- ``prepared_cursor()``: a cursor for the hot fixed statements (tasks.selectors), binding
  parameters server-side, so psycopg prepares each statement once per connection after
  ``prepare_threshold`` runs (settings: 5 when connecting directly, never behind a transaction
  pooler) and PostgreSQL stops parsing and planning it per request. Django's own cursors bind
  client-side and never prepare; this one is Django's CursorWrapper all the same, so
  execute_wrappers (perfaudit, silk, the replica fallback) see its statements.
"""

import psycopg
from django.db.backends.postgresql import base, operations

from taskproject.liveness import looks_alive


class DatabaseOperations(operations.DatabaseOperations):
    def last_executed_query(self, cursor, sql, params):
        # A prepared_cursor sent the parameters apart ($1, $2): show them bound, as for
        # Django's client-side cursors (debug-toolbar, CaptureQueriesContext, EXPLAIN of a
        # recorded query).
        if not isinstance(cursor, psycopg.ClientCursor):
            try:
                return self.compose_sql(sql, params)
            except psycopg.errors.DataError:
                return None
        return super().last_executed_query(cursor, sql, params)


class DatabaseWrapper(base.DatabaseWrapper):
    ops_class = DatabaseOperations

    def is_usable(self):
        return looks_alive(self.connection)

    _server_binding_next = False

    def create_cursor(self, name=None):
        if self._server_binding_next and name is None:
            return psycopg.Cursor(self.connection)
        return super().create_cursor(name)

    def prepared_cursor(self):
        # Through cursor(), so whatever wraps it (debug-toolbar's SQL panel patches
        # connection.cursor) sees these statements too; only the psycopg cursor class differs.
        self._server_binding_next = True
        try:
            return self.cursor()
        finally:
            self._server_binding_next = False
