"""PostgreSQL backend that starts the embedded server on first use.

Identical to taskproject.db_backend (Django's ``postgresql`` backend, vendor "postgresql", with
a health check that costs no round trip), except that opening a
connection (or a pool) first makes sure the embedded server is up. Starting it lazily keeps
``import settings`` free of side effects: ``manage.py --help`` or ``ruff`` never start a server.
"""

from pathlib import Path

from taskproject.db_backend import base
from taskproject.embedded_db import EmbeddedServer


class DatabaseWrapper(base.DatabaseWrapper):
    def get_connection_params(self):
        EmbeddedServer(base=Path(self.settings_dict["EMBEDDED_DIR"])).ensure_running()
        return super().get_connection_params()
