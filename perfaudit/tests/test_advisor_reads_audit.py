"""adviseindexes on the scratch app of test_fixes_by_origin, planted the same way (PostgreSQL
18 and 15): it reads the audit's view. A statement the dropped declared index serves gets
"restore owner_name_idx" (verified by a rolled-back build: no HypoPG there), never a new index;
the audit's condemned duplicates are never credited as serving; nothing leads with a unique
column; a one-row table gets nothing."""

from __future__ import annotations

import json

from .test_fixes_by_origin import MODELS, RENAMES, RUNSQL_COPY, Scratch, plant, scratch_app

ADVISE = [
    # served by owner_name_idx, declared and dropped: restore it, never a second index
    "SELECT * FROM scratch_owner WHERE name = 'owner 7'",
    # Django's own index on code serves it; its RunSQL copy is a duplicate the audit drops
    "SELECT * FROM scratch_item WHERE code = 7",
    # sku is unique: equality on it finds one row, no key may lead with it
    "SELECT * FROM scratch_item WHERE sku = 'sku-7' AND created > now() - interval '1 day'",
    # a table of one row: nothing to gain
    "SELECT * FROM scratch_project WHERE title = 'p'",
]


def test_the_advisor_reads_the_audits_view(tmp_path, server):
    params, _version, (existing_db, _fresh_db) = server
    app = scratch_app(tmp_path)
    db = Scratch(tmp_path, existing_db, params)
    db.manage("makemigrations", "scratch")
    (app / "models.py").write_text(MODELS)
    (app / "migrations" / "0002_renames.py").write_text(RENAMES)
    (app / "migrations" / "0003_runsql_copy.py").write_text(RUNSQL_COPY)
    db.manage("migrate")
    plant(db)
    db.run(
        "INSERT INTO scratch_owner (name) SELECT 'owner ' || n FROM generate_series(1, 20000) n",
        "INSERT INTO scratch_item (project_id, owner_id, code, tags, sku, created) "
        "SELECT p.id, p.owner_id, n % 5000, '', 'big-' || n, now() - n * interval '1 min' "
        "FROM scratch_project p, generate_series(1, 20000) n",
        "ANALYZE scratch_owner",
        "ANALYZE scratch_item",
    )
    args = [a for sql in ADVISE for a in ("--sql", sql)]
    document = json.loads(db.manage("adviseindexes", *args, "--format", "json").stdout)
    [restore] = document["suggestions"]
    # Verified without HypoPG or --allow-build: scratch_owner is under ADVISOR_BUILD_MAX_BYTES.
    assert (restore["restore"], restore["name"], restore["verified_by"]) == (
        "owner_name_idx",
        "owner_name_idx",
        "build",
    )
    assert restore["sql"] == (
        'CREATE INDEX CONCURRENTLY IF NOT EXISTS "owner_name_idx" ON "scratch_owner" ("name");'
    )
    assert restore["migration"]["operation"].startswith("migrations.RunSQL(")
    notes = [s["note"] for s in document["statements"]]
    code_index = next(n for n in db.indexes() if n.startswith("scratch_item_code_"))
    [sku_key] = [  # item_sku_dup, its planted duplicate, is condemned: never credited
        n
        for n, d in db.indexes().items()
        if d.startswith("CREATE UNIQUE") and d.endswith("(sku)") and n != "item_sku_dup"
    ]
    assert notes[1] == f"already served by {code_index}"  # never by item_code_copy
    assert notes[2] == f"already served by {sku_key}"
    assert notes[3].startswith("its tables are too small for an index to matter: scratch_project")
    text = db.manage("adviseindexes", *args).stdout
    assert "Verified suggestions" in text and "Unverified candidates" not in text
    assert "restore owner_name_idx" in text
