"""Extensions the server lacks are skipped with a warning, never a failed migration."""

import pytest
from django.db import connection

from tasks.migration_ops import AddIndexIfExtension, CreateExtensionIfAvailable

pytestmark = pytest.mark.django_db


def test_missing_extension_is_skipped_with_a_warning(capsys):
    op = CreateExtensionIfAvailable("no_such_extension", why="nothing works.")
    with connection.schema_editor() as editor:
        op._forwards(None, editor)
    err = capsys.readouterr().err
    assert "WARNING: extension no_such_extension is not available" in err
    assert "nothing works." in err


def test_available_extension_is_created():
    op = CreateExtensionIfAvailable("pg_trgm", why="x")
    with connection.schema_editor() as editor:
        op._forwards(None, editor)
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        assert cursor.fetchone() == (1,)


def test_index_needing_a_missing_extension_is_skipped(capsys):
    from django.db import models

    from tasks.models import Task

    index = models.Index(fields=["title"], name="skipped_probe_idx")
    op = AddIndexIfExtension("task", index, extension="no_such_extension")

    class State:
        class apps:  # mimics ProjectState.apps
            @staticmethod
            def get_model(app_label, name):
                return Task

    with connection.schema_editor() as editor:
        op.database_forwards("tasks", editor, State, State)
    assert "index skipped_probe_idx skipped" in capsys.readouterr().err
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_class WHERE relname = 'skipped_probe_idx'")
        assert cursor.fetchone() is None
