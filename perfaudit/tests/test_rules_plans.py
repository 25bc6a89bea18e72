"""Plan diagnostics on hand-written EXPLAIN (FORMAT JSON) plans."""

from perfaudit.conf import PerfauditSettings
from perfaudit.rules.plans import diagnose
from perfaudit.snapshots.plans import walk

CONF = PerfauditSettings()


def plan(node_type, children=(), **fields):
    return {"Node Type": node_type, "Plans": list(children), **fields}


def found(p, rows=None):
    return [(f.kind, f.evidence["node"]) for f in diagnose(p, table_rows=rows or {}, conf=CONF)]


def test_nodes_are_numbered_depth_first():
    p = plan("Limit", [plan("Sort", [plan("Seq Scan", **{"Relation Name": "t"})])])
    assert [(n.number, n.depth, n.label) for n in walk(p)] == [
        (1, 0, "#1 Limit"),
        (2, 1, "#2 Sort"),
        (3, 2, "#3 Seq Scan on t"),
    ]


def test_seq_scan_over_a_big_table_only():
    p = plan("Seq Scan", **{"Relation Name": "big", "Plan Rows": 10})
    assert found(p, {"big": 1_000_000}) == [("plan_seq_scan", 1)]
    assert found(p, {"big": 100}) == []


def test_misestimate_both_ways():
    under = plan("Index Scan", **{"Plan Rows": 10, "Actual Rows": 50_000, "Actual Loops": 1})
    over = plan("Index Scan", **{"Plan Rows": 50_000, "Actual Rows": 10, "Actual Loops": 1})
    close = plan("Index Scan", **{"Plan Rows": 4_000, "Actual Rows": 5_000, "Actual Loops": 1})
    assert found(under) == [("plan_misestimate", 1)]
    assert found(over) == [("plan_misestimate", 1)]
    assert found(close) == []


def test_sort_and_hash_spills():
    sort = plan(
        "Sort",
        **{"Sort Method": "external merge", "Sort Space Type": "Disk", "Sort Space Used": 20000},
    )
    hashed = plan("Hash Join", [plan("Hash", **{"Hash Batches": 8, "Original Hash Batches": 8})])
    assert found(sort) == [("plan_spill", 1)]
    assert found(hashed) == [("plan_spill", 2)]
    assert found(plan("Sort", **{"Sort Method": "quicksort", "Sort Space Type": "Memory"})) == []


def test_heap_fetches_on_index_only_scan():
    p = plan(
        "Index Only Scan",
        **{
            "Relation Name": "t",
            "Plan Rows": 10_000,
            "Actual Rows": 10_000,
            "Actual Loops": 1,
            "Heap Fetches": 9_000,
        },
    )
    assert found(p) == [("plan_heap_fetches", 1)]
    p["Heap Fetches"] = 0
    assert found(p) == []


def test_filter_discarding_most_rows_after_an_index_scan():
    p = plan(
        "Index Scan",
        **{
            "Relation Name": "t",
            "Plan Rows": 100,
            "Actual Rows": 100,
            "Actual Loops": 1,
            "Rows Removed by Filter": 90_000,
            "Filter": "(note = 'x')",
        },
    )
    assert ("plan_filter_discard", 1) in found(p)


def test_fewer_rows_than_estimated_below_a_limit_is_normal():
    p = plan(
        "Limit",
        [plan("Sort", **{"Plan Rows": 900_000, "Actual Rows": 10, "Actual Loops": 1})],
        **{"Plan Rows": 10, "Actual Rows": 10},
    )
    assert found(p) == []


def test_leading_wildcard_like_gets_trigram_advice_not_btree():
    plan = {
        "Node Type": "Seq Scan",
        "Relation Name": "t",
        "Filter": "(description ~~ '%lorem%'::text)",
        "Plan Rows": 10,
    }
    [f] = diagnose(plan, table_rows={"t": 1_000_000}, conf=PerfauditSettings())
    assert "gin_trgm_ops" in f.fix.sql and "B-tree" in f.fix.sql
