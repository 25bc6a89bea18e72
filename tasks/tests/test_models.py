"""The index design, read back from PostgreSQL's catalog after `migrate`."""

import pytest
from django.db import IntegrityError, connection, transaction

from tasks.models import Task, User

pytestmark = pytest.mark.django_db

# name -> (table, access method, pg_get_indexdef fragment with the key columns, predicate or None)
EXPECTED = {
    "task_owner_created_idx": (
        "tasks_task",
        "btree",
        "(owner_id, created_at DESC, id DESC)",
        None,
    ),
    "task_owner_done_created_idx": (
        "tasks_task",
        "btree",
        "(owner_id, completed, created_at DESC, id DESC)",
        None,
    ),
    "task_owner_prio_created_idx": (
        "tasks_task",
        "btree",
        "(owner_id, priority, created_at DESC, id DESC)",
        None,
    ),
    "task_urgent_pending_idx": (
        "tasks_task",
        "btree",
        "(owner_id, created_at DESC, id DESC)",
        "((NOT completed) AND ((priority)::text = 'high'::text))",
    ),
    "task_owner_due_idx": (
        "tasks_task",
        "btree",
        "(owner_id, due_date)",
        "(due_date IS NOT NULL)",
    ),
    "task_created_idx": ("tasks_task", "btree", "(created_at DESC, id DESC)", None),
    "task_search_fts_idx": ("tasks_task", "gin", "to_tsvector('english'::regconfig", None),
    "task_search_trgm_idx": ("tasks_task", "gin", "gin_trgm_ops", None),
    "user_active_created_idx": ("tasks_user", "btree", "(created_at DESC, id DESC)", "is_active"),
    "user_email_active_uniq": (
        "tasks_user",
        "btree",
        "(lower((email)::text))",
        "(is_active AND (NOT ((email)::text = ''::text)))",
    ),
}

CATALOG = """
SELECT i.relname, t.relname, am.amname, pg_get_indexdef(x.indexrelid),
       pg_get_expr(x.indpred, x.indrelid), x.indisunique, x.indisvalid,
       x.indkey::int2[], x.indclass::oid[], pg_get_expr(x.indexprs, x.indrelid)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class t ON t.oid = x.indrelid
JOIN pg_am am ON am.oid = i.relam
WHERE t.relname IN ('tasks_task', 'tasks_user')
"""


def catalog():
    with connection.cursor() as cursor:
        cursor.execute(CATALOG)
        return {row[0]: row[1:] for row in cursor.fetchall()}


def test_every_declared_index_exists_with_its_columns_method_and_predicate():
    found = catalog()
    declared = {i.name for i in Task._meta.indexes} | {i.name for i in User._meta.indexes}
    declared |= {c.name for c in User._meta.constraints}
    assert declared == set(EXPECTED)
    for name, (table, method, columns, predicate) in EXPECTED.items():
        assert name in found, f"{name} missing from the database"
        f_table, f_method, definition, f_predicate, _, valid, *_ = found[name]
        assert (f_table, f_method, valid) == (table, method, True), name
        assert columns in definition, f"{name}: {definition}"
        assert f_predicate == predicate, f"{name}: {f_predicate}"


def test_no_standalone_owner_index():
    definitions = [row[2] for row in catalog().values() if row[0] == "tasks_task"]
    assert not [d for d in definitions if d.endswith("(owner_id)")]


def test_no_index_is_a_leading_prefix_of_another():
    # Same table, method, predicate and expressions; key columns (with opclasses) a prefix.
    rows = [(name, *row) for name, row in catalog().items()]
    for a in rows:
        for b in rows:
            if a[0] == b[0] or a[1] != b[1] or a[2] != b[2] or a[4] != b[4] or a[9] != b[9]:
                continue
            a_keys = list(zip(a[7], a[8], strict=True))
            b_keys = list(zip(b[7], b[8], strict=True))
            is_prefix = len(a_keys) <= len(b_keys) and b_keys[: len(a_keys)] == a_keys
            # Sort direction lives in indoption; a DESC/ASC mismatch is still a redundant index
            # for equality lookups, so we do not excuse it.
            assert not is_prefix, f"{a[0]} is a prefix of {b[0]}"


def test_email_unique_among_active_users_only(django_user_model):
    django_user_model.objects.create_user(username="a", email="Same@Example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        django_user_model.objects.create_user(username="b", email="same@example.com")
    # An inactive account may keep the same email, and blank emails never collide.
    django_user_model.objects.create_user(username="c", email="same@example.com", is_active=False)
    django_user_model.objects.create_user(username="d", email="")
    django_user_model.objects.create_user(username="e", email="")
    assert django_user_model.objects.filter(email__iexact="same@example.com").count() == 2


def test_completed_at_follows_completed(owner):
    task = Task.objects.create(owner=owner, title="t")
    assert task.completed_at is None
    task.completed = True
    task.save(update_fields=["completed"])
    task.refresh_from_db()
    assert task.completed_at is not None
    task.completed = False
    task.save()
    task.refresh_from_db()
    assert task.completed_at is None


def test_database_rejects_completed_without_completed_at(owner):
    task = Task.objects.create(owner=owner, title="t")
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.filter(pk=task.pk).update(completed=True)


def test_database_rejects_unknown_priority(owner):
    with pytest.raises(IntegrityError), transaction.atomic():
        Task.objects.bulk_create([Task(owner=owner, title="t", priority="urgent")])
