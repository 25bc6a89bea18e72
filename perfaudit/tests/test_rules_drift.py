"""Drift rule on hand-built declarations and catalog rows."""

from perfaudit.rules.drift import drift_findings
from perfaudit.snapshots.declared import DeclaredIndex, ModelRef

from .factories import col, index

REF = ModelRef("app", "thing")


def declared(name, columns=("owner_id", "created_at"), desc=(False, True), **kw):
    return DeclaredIndex(
        table="t",
        name=name,
        model=REF,
        method=kw.get("method", "btree"),
        unique=kw.get("unique", False),
        columns=columns,
        descending=desc,
        partial=kw.get("partial", False),
        include=(),
        create_sql=f'CREATE INDEX "{name}" ...;',
    )


def run(decl, actual, known=()):
    return drift_findings(
        decl, actual, known_names=set(known), models={"t": REF}, existing_tables={"t"}
    )


MATCHING = index("t_idx", col(2, "owner_id"), col(3, "created_at", desc=True))


def test_matching_declaration_is_clean():
    assert run([declared("t_idx")], [MATCHING]) == []


def test_missing_declared_index():
    found = run([declared("t_idx")], [])
    assert [(f.kind, f.object, f.severity) for f in found] == [("drift", "t_idx", "warning")]
    assert "absent" in found[0].message
    assert found[0].fix.sql.startswith("CREATE INDEX")


def test_different_definition():
    asc = index("t_idx", col(2, "owner_id"), col(3, "created_at"))
    found = run([declared("t_idx")], [asc])
    assert len(found) == 1 and "key 2 is ASC" in found[0].message
    partial = index("t_idx", col(2, "owner_id"), col(3, "created_at", desc=True), predicate="done")
    assert "predicate" in run([declared("t_idx")], [partial])[0].message


def test_undeclared_index_is_info_unless_django_named_it():
    extra = index("t_by_hand", col(2, "owner_id"))
    found = run([], [extra])
    assert [(f.kind, f.object, f.severity) for f in found] == [("drift", "t_by_hand", "info")]
    assert run([], [extra], known={"t_by_hand"}) == []
    assert run([], [index("t_pkey", col(1, "id"), is_primary=True)]) == []
