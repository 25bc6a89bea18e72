"""The index advisor's rules, pure: parse trees and hand-made table facts, no database."""

import pytest

from perfaudit.rules import advisor as r

COLUMNS = {
    "id": r.ColumnFacts("id", "bigint", 0.0, -1.0),
    "owner_id": r.ColumnFacts("owner_id", "bigint", 0.0, 1000.0),
    "state": r.ColumnFacts(
        "state", "text", 0.0, 3.0, ("done", "open", "failed"), (0.89, 0.1, 0.01)
    ),
    "flag": r.ColumnFacts("flag", "boolean", 0.0, 2.0, ("t", "f"), (0.5, 0.5)),
    "created_at": r.ColumnFacts("created_at", "timestamp with time zone", 0.0, -1.0),
    "title": r.ColumnFacts("title", "character varying(200)", 0.0, -0.9, avg_width=30),
    "deleted_at": r.ColumnFacts("deleted_at", "timestamp with time zone", 0.98, -0.02),
}
JOB = r.TableFacts("pa_job", 100_000, columns=COLUMNS)
PARENT = r.TableFacts("pa_owner", 1000, columns={"id": COLUMNS["id"], "name": COLUMNS["title"]})
TABLES = {"pa_job": JOB, "pa_owner": PARENT}


def candidates(sql, table=JOB):
    accesses = r.analyze_statement(sql, TABLES)
    found = []
    for access in accesses:
        if access.table == table.name:
            found += r.candidates_for(access, table, statement=0)
    return [(c.using, [k.sql() for k in c.keys], c.where_sql) for c in found]


def test_equality_then_sort():
    assert candidates(
        "SELECT * FROM pa_job WHERE owner_id = 5 ORDER BY created_at DESC LIMIT 20"
    ) == [
        ("btree", ['"owner_id"', '"created_at" DESC'], None),
        ("btree", ['"owner_id"'], None),
    ]


def test_equality_then_range_and_params():
    assert candidates("SELECT * FROM pa_job j WHERE j.created_at > $2 AND j.owner_id = $1") == [
        ("btree", ['"owner_id"', '"created_at"'], None),
        ("btree", ['"owner_id"'], None),
    ]


def test_two_equalities_most_selective_first():
    assert candidates("SELECT * FROM pa_job WHERE state = 'done' AND owner_id = 3")[0] == (
        "btree",
        ['"owner_id"', '"state"'],
        None,
    )


def test_rare_constant_of_a_state_column_becomes_a_partial_predicate():
    assert candidates(
        "SELECT * FROM pa_job WHERE state = 'failed' ORDER BY created_at LIMIT 5"
    ) == [("btree", ['"created_at"'], "\"state\" = 'failed'")]
    # IS NOT NULL keeping 2 % of rows: the same; IS NULL keeps 98 %, no use at all.
    assert candidates("SELECT * FROM pa_job WHERE deleted_at IS NOT NULL AND owner_id = 4")[0] == (
        "btree",
        ['"owner_id"'],
        '"deleted_at" IS NOT NULL',
    )
    assert candidates("SELECT * FROM pa_job WHERE deleted_at IS NULL AND owner_id = 4")[0] == (
        "btree",
        ['"owner_id"'],
        None,
    )


def test_a_rare_key_value_is_no_partial_index():
    # owner_id = 42 keeps 0.1 %, but a partial index per owner would be absurd.
    assert candidates("SELECT * FROM pa_job WHERE owner_id = 42") == [
        ("btree", ['"owner_id"'], None)
    ]


def test_a_range_alone_is_left_to_the_planner():
    # Its share depends on the bounds (the planner's histograms): a candidate, to be verified.
    assert candidates("SELECT * FROM pa_job WHERE created_at > now() - interval '1 hour'") == [
        ("btree", ['"created_at"'], None)
    ]


def test_half_the_table_gets_nothing():
    assert candidates("SELECT * FROM pa_job WHERE flag") == []
    assert candidates("SELECT * FROM pa_job WHERE flag = true AND state = 'done'") == []


def test_substring_search_gets_trigram_gin():
    assert candidates("SELECT id FROM pa_job WHERE title LIKE '%abc%'") == [
        ("gin", ['"title" gin_trgm_ops'], None)
    ]
    assert candidates("SELECT id FROM pa_job WHERE title ILIKE $1") == [
        ("gin", ['"title" gin_trgm_ops'], None)
    ]
    # Django's icontains: UPPER(col::text) LIKE UPPER('%x%') -> an expression index.
    assert candidates(
        'SELECT id FROM pa_job WHERE UPPER("pa_job"."title"::text) LIKE UPPER(\'%ab%\')'
    ) == [("gin", ["(upper(CAST(title AS text))) gin_trgm_ops"], None)]
    # A prefix pattern: a B-tree with the pattern opclass of the column's type.
    assert candidates("SELECT id FROM pa_job WHERE title LIKE 'ab%'") == [
        ("btree", ['"title" varchar_pattern_ops'], None)
    ]


def test_full_text_gets_gin_on_the_tsvector_expression():
    sql = "SELECT id FROM pa_job WHERE to_tsvector('english', title) @@ plainto_tsquery('x')"
    assert candidates(sql) == [("gin", ["(to_tsvector('english', title))"], None)]


def test_expression_equality_gets_expression_btree():
    assert candidates("SELECT id FROM pa_job WHERE lower(title) = 'x'") == [
        ("btree", ["(lower(title))"], None)
    ]


def test_join_columns_per_table():
    sql = (
        "SELECT j.id FROM pa_job j JOIN pa_owner o ON o.id = j.owner_id "
        "WHERE o.name = 'x' ORDER BY j.created_at"
    )
    assert candidates(sql, JOB) == [
        ("btree", ['"owner_id"', '"created_at"'], None),
        ("btree", ['"owner_id"'], None),
    ]
    assert ("btree", ['"name"', '"id"'], None) not in candidates(sql, PARENT)


def test_subqueries_are_blocks_of_their_own():
    sql = "SELECT * FROM pa_owner WHERE id IN (SELECT owner_id FROM pa_job WHERE state = 'open')"
    assert candidates(sql, JOB) == [("btree", ['"state"'], "\"state\" = 'open'")]


def test_statements_without_rows_to_find_are_refused():
    with pytest.raises(r.AdvisorInputError, match="INSERT statements use no index"):
        r.analyze_statement("INSERT INTO pa_job (id) VALUES (1)")
    with pytest.raises(r.AdvisorInputError, match="cannot parse"):
        r.analyze_statement("SELEC 1")
    with pytest.raises(r.AdvisorInputError, match="one statement"):
        r.parse_statement("SELECT 1; SELECT 2")


def _existing(name, keys, desc=None, **kw):
    return r.ExistingIndex(
        name, kw.pop("method", "btree"), tuple(keys), tuple(desc or [False] * len(keys)), **kw
    )


def test_covered_by_an_existing_leading_prefix():
    cand = r.Candidate(
        "pa_job", (r.Key("owner_id"), r.Key("created_at", descending=True)), equality=1
    )
    same_order = _existing("a", ["owner_id", "created_at", "id"], [False, True, True])
    reversed_order = _existing("b", ["owner_id", "created_at"], [True, False])
    other_order = _existing("c", ["created_at", "owner_id"])
    assert r.covered_by(cand, (same_order,)) is same_order
    # An index reads backwards: (owner DESC, created ASC) serves (owner, created DESC) too.
    assert r.covered_by(cand, (reversed_order,)) is reversed_order
    assert r.covered_by(cand, (other_order,)) is None
    # A partial existing index covers only the same predicate.
    partial = _existing("d", ["owner_id", "created_at"], [False, True], predicate="(flag = true)")
    assert r.covered_by(cand, (partial,)) is None
    # An invalid index (failed CREATE INDEX CONCURRENTLY) serves nothing.
    invalid = _existing("e", ["owner_id", "created_at"], [False, True], valid=False)
    assert r.covered_by(cand, (invalid,)) is None


def test_expression_indexes_compare_after_normalizing():
    cand = r.Candidate("pa_job", (r.Key(None, "upper(title)", opclass="gin_trgm_ops"),), "gin")
    existing = r.ExistingIndex(
        "t",
        "gin",
        ("upper((title)::text)",),
        (False,),
        ("gin_trgm_ops",),
        expression_positions=(True,),
    )
    assert r.covered_by(cand, (existing,)) is existing


def test_redundant_prefix_is_reported():
    cand = r.Candidate("pa_job", (r.Key("owner_id"), r.Key("state")), equality=2)
    lone = _existing("pa_job_owner", ["owner_id"])
    unique = _existing("pa_job_owner_uniq", ["owner_id"], unique=True)
    assert r.redundant_with(cand, (lone, unique)) == ["pa_job_owner"]


def test_merge_offers_the_longer_index_to_the_prefix_statements():
    short = r.Candidate("pa_job", (r.Key("owner_id"),), statements=frozenset({1}), equality=1)
    long = r.Candidate(
        "pa_job", (r.Key("owner_id"), r.Key("created_at")), statements=frozenset({0}), equality=1
    )
    merged = {c.keys: c.statements for c in r.merge([short, long, short])}
    assert merged[long.keys] == {0, 1}
    assert merged[short.keys] == {1}


def test_choose_prefers_one_index_serving_several_statements():
    a = r.Candidate("t", (r.Key("x"),), statements=frozenset({0, 1}))
    b = r.Candidate("t", (r.Key("x"), r.Key("y")), statements=frozenset({1}))
    trials = [
        r.Trial(0, 0, 100.0, 10.0, True),
        r.Trial(0, 1, 100.0, 20.0, True),
        r.Trial(1, 1, 100.0, 5.0, True),
        r.Trial(1, 0, 100.0, 90.0, True),
    ]
    [(chosen, won)] = r.choose([a, b], trials, min_reduction=0.5)
    assert chosen is a and [t.statement for t in won] == [0, 1]
    # Below the threshold, or with the index unused by the plan: nothing.
    assert r.choose([a], [r.Trial(0, 0, 100.0, 60.0, True)], min_reduction=0.5) == []
    assert r.choose([a], [r.Trial(0, 0, 100.0, 1.0, False)], min_reduction=0.5) == []


def test_write_cost_counts_the_new_index_and_the_partial_share():
    full = r.Candidate("pa_job", (r.Key("title"),))
    partial = r.Candidate("pa_job", (r.Key("title"),), where=(r.Predicate("state", "=", "failed"),))
    table = r.TableFacts(
        "pa_job",
        100_000,
        columns=COLUMNS,
        indexes=(_existing("p", ["id"]),),
        writes=5,
        inserts=3,
        updates=2,
    )
    cost = r.write_cost(full, table)
    assert cost["index_writes_per_insert"] == "1 -> 2"
    assert cost["updates_of_these_columns_lose_hot"] == ["title"]
    assert cost["writes_since_reset"] == 5
    # 1 % of the rows: about 1 % of the size.
    assert r.write_cost(partial, table)["estimated_bytes"] < cost["estimated_bytes"] / 50


def test_create_sql_quotes_and_is_concurrent():
    cand = r.Candidate(
        "Weird", (r.Key("a b"), r.Key("c", descending=True)), where=(r.Predicate("s", "=", "it's"),)
    )
    assert cand.create_sql("ix") == (
        'CREATE INDEX CONCURRENTLY "ix" ON "Weird" USING btree ("a b", "c" DESC) '
        "WHERE \"s\" = 'it''s'"
    )


def test_evaluate_reads_thresholds_from_the_settings_and_names_serving_indexes():
    from dataclasses import replace

    from perfaudit.conf import PerfauditSettings

    served = r.TableFacts("pa_job", 100_000, columns=COLUMNS, indexes=(_existing("pk", ["id"]),))
    statements = [
        r.analyze_statement("SELECT * FROM pa_job WHERE id = 7", TABLES),
        r.analyze_statement("SELECT * FROM pa_job WHERE state = 'open'", TABLES),
    ]
    tables = {"pa_job": served}
    candidates, serving = r.evaluate(statements, tables, PerfauditSettings())
    assert serving == {0: ["pk"]}
    # 'open' keeps 10 %: a partial index at the default 0.1, a plain key at 0.05.
    assert [c.where_sql for c in candidates] == ["\"state\" = 'open'"]
    strict = replace(PerfauditSettings(), ADVISOR_PARTIAL_MAX_FRACTION=0.05)
    candidates, _ = r.evaluate(statements, tables, strict)
    assert [(c.keys, c.where_sql) for c in candidates] == [((r.Key("state"),), None)]
