"""Migration operations that degrade gracefully on servers lacking an extension.

The embedded PostgreSQL ships all of contrib, but ``DATABASE_URL`` may point at a managed server
without pg_trgm, or a role that may not create pg_stat_statements. Migrating must still succeed:
the operation prints a warning saying what was skipped and how to enable it, and perfaudit's
index audit then reports the missing index as drift.
"""

import sys

from django.db import DatabaseError, migrations, transaction


def _warn(message: str) -> None:
    sys.stderr.write(f"WARNING: {message}\n")


def extension_installed(schema_editor, name: str) -> bool:
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = %s", [name])
        return cursor.fetchone() is not None


class CreateExtensionIfAvailable(migrations.RunPython):
    """``CREATE EXTENSION IF NOT EXISTS`` when the server has it and we may; a warning otherwise."""

    reduces_to_sql = False

    def __init__(self, name: str, *, why: str):
        self.name = name
        self.why = why
        super().__init__(self._forwards, migrations.RunPython.noop, elidable=False)

    def deconstruct(self):
        return (self.__class__.__qualname__, [self.name], {"why": self.why})

    def describe(self):
        return f"Create extension {self.name} if available"

    def _forwards(self, apps, schema_editor):
        connection = schema_editor.connection
        if connection.vendor != "postgresql":
            return
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_available_extensions WHERE name = %s", [self.name])
            if cursor.fetchone() is None:
                _warn(
                    f"extension {self.name} is not available on this server; skipped. "
                    f"Without it: {self.why} Install the server's contrib package to enable it."
                )
                return
            try:
                # A savepoint, so a refused CREATE EXTENSION does not abort the migration.
                with transaction.atomic(using=connection.alias):
                    cursor.execute(f'CREATE EXTENSION IF NOT EXISTS "{self.name}"')
            except DatabaseError as exc:
                _warn(
                    f"could not create extension {self.name} ({exc.__class__.__name__}: "
                    f"{str(exc).strip()}); skipped. Without it: {self.why} "
                    f"A superuser can run: CREATE EXTENSION {self.name};"
                )


class AddIndexIfExtension(migrations.AddIndex):
    """``AddIndex`` that is skipped (with a warning) when the extension it needs is missing.

    The model state still records the index, so ``auditindexes`` reports the gap as drift.
    """

    def __init__(self, model_name, index, *, extension: str):
        self.extension = extension
        super().__init__(model_name, index)

    def deconstruct(self):
        _, args, kwargs = super().deconstruct()
        kwargs["extension"] = self.extension
        return (self.__class__.__qualname__, args, kwargs)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if not extension_installed(schema_editor, self.extension):
            _warn(
                f"index {self.index.name} skipped: extension {self.extension} is not installed. "
                f"Create the extension and re-run this migration to get it."
            )
            return
        super().database_forwards(app_label, schema_editor, from_state, to_state)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        # IF EXISTS: forwards may have skipped the index.
        schema_editor.execute(f"DROP INDEX IF EXISTS {schema_editor.quote_name(self.index.name)}")
