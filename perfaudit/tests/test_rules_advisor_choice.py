"""rules.advisor.choice pinned: the greedy choice and every tie-breaker (statements served, cost
saved, fewer keys, lower number), the reduction threshold at its boundary, each statement
served once, the size estimate and the write cost exactly (make mutate)."""

from perfaudit.rules.advisor.choice import Trial, choose, estimated_size, write_cost
from perfaudit.rules.advisor.facts import Candidate, Key, Predicate
from perfaudit.snapshots.advisor import ColumnFacts, ExistingIndex, TableFacts


def cand(*keys, statements=(0,), using="btree", where=()):
    return Candidate("t", tuple(Key(k) for k in keys), using, tuple(where), frozenset(statements))


def test_reduction():
    assert Trial(0, 0, 200.0, 50.0, True).reduction == 0.75
    assert Trial(0, 0, 0.0, 0.0, True).reduction == 0.0
    assert Trial(0, 0, -1.0, 5.0, True).reduction == 0.0


def test_the_threshold_is_inclusive_and_the_plan_must_use_the_index():
    a = cand("x")
    assert choose([a], [Trial(0, 0, 100.0, 50.0, True)], min_reduction=0.5) == [
        (a, [Trial(0, 0, 100.0, 50.0, True)])
    ]
    assert choose([a], [Trial(0, 0, 100.0, 50.1, True)], min_reduction=0.5) == []
    assert choose([a], [Trial(0, 0, 100.0, 1.0, False)], min_reduction=0.5) == []


def test_more_statements_first_then_each_statement_once():
    wide = cand("x", statements=(0, 1, 2))
    narrow = cand("y", statements=(2, 3))
    trials = [
        Trial(1, 2, 100.0, 1.0, True),  # narrow cuts statement 2 more, but serves fewer
        Trial(1, 3, 100.0, 10.0, True),
        Trial(0, 2, 100.0, 40.0, True),
        Trial(0, 0, 100.0, 40.0, True),
        Trial(0, 1, 100.0, 40.0, True),
    ]
    chosen = choose([wide, narrow], trials, min_reduction=0.5)
    assert [(c, [t.statement for t in won]) for c, won in chosen] == [
        (wide, [0, 1, 2]),
        (narrow, [3]),
    ]


def test_ties_go_to_the_bigger_saving_then_fewer_keys_then_the_lower_number():
    a, b = cand("x"), cand("y")
    assert choose(
        [a, b], [Trial(0, 0, 100.0, 40.0, True), Trial(1, 0, 100.0, 30.0, True)], min_reduction=0.5
    ) == [(b, [Trial(1, 0, 100.0, 30.0, True)])]
    short, long = cand("x"), cand("x", "y")
    same = [Trial(1, 0, 100.0, 30.0, True), Trial(0, 0, 100.0, 30.0, True)]
    assert choose([short, long], same, min_reduction=0.5)[0][0] is short
    twin_a, twin_b = cand("x"), cand("y")
    equal = [Trial(1, 0, 100.0, 30.0, True), Trial(0, 0, 100.0, 30.0, True)]
    assert choose([twin_a, twin_b], equal, min_reduction=0.5)[0][0] is twin_a


def test_estimated_size_of_a_btree_from_widths():
    table = TableFacts(
        "t",
        1000,
        columns={"a": ColumnFacts("a", avg_width=4), "b": ColumnFacts("b", avg_width=None)},
    )
    # a: 4 bytes, b: no statistics (16), an expression: 16 -> 36 -> 40 aligned + 8 header.
    three = Candidate("t", (Key("a"), Key("b"), Key(None, "upper(c)")))
    assert estimated_size(three, table) == int(1000 * (48 + 4) / 0.9)
    assert estimated_size(Candidate("t", (Key("a"),)), table) == int(1000 * (16 + 4) / 0.9)
    assert estimated_size(Candidate("t", (Key("zz"),)), table) == int(1000 * (24 + 4) / 0.9)
    assert estimated_size(Candidate("t", (Key("a"),)), table, share=0.5) == int(500 * 20 / 0.9)
    assert estimated_size(Candidate("t", (Key("a"),)), TableFacts("t", -5)) == 0


def test_estimated_size_of_a_trigram_gin():
    table = TableFacts("t", 1000, columns={"a": ColumnFacts("a", avg_width=10)})
    gin = Candidate("t", (Key("a", opclass="gin_trgm_ops"),), "gin")
    assert estimated_size(gin, table) == int(1000 * 10 * 3 * 1.1)


def test_write_cost_exactly():
    table = TableFacts(
        "t",
        1000,
        columns={"a": ColumnFacts("a", avg_width=4), "s": ColumnFacts("s", null_frac=0.25)},
        indexes=(
            ExistingIndex("t_pkey", "btree", ("id",), primary=True),
            ExistingIndex("t_bad", "btree", ("a",), valid=False),
        ),
        writes=30,
        inserts=20,
        updates=10,
    )
    plain = cand("a")
    assert write_cost(plain, table) == {
        "estimated_bytes": int(1000 * 20 / 0.9),
        "size_source": "estimate",
        "indexes_on_table": 1,
        "index_writes_per_insert": "1 -> 2",
        "writes_since_reset": 30,
        "inserts_since_reset": 20,
        "updates_since_reset": 10,
        "updates_of_these_columns_lose_hot": ["a"],
        "gin_pending_list": False,
    }
    measured = write_cost(plain, table, size_bytes=8192, size_source="build")
    assert (measured["estimated_bytes"], measured["size_source"]) == (8192, "build")
    assert write_cost(plain, table, size_bytes=0)["size_source"] == "measured"


def test_write_cost_of_a_partial_index_counts_its_share_and_its_where_columns():
    table = TableFacts("t", 1000, columns={"s": ColumnFacts("s", null_frac=0.25)})
    partial = cand("b", where=(Predicate("s", "IS NULL"),))
    cost = write_cost(partial, table)
    assert cost["estimated_bytes"] == int(250 * 28 / 0.9)
    assert cost["updates_of_these_columns_lose_hot"] == ["b", "s"]
    not_null = write_cost(cand("b", where=(Predicate("s", "IS NOT NULL"),)), table)
    assert not_null["estimated_bytes"] == int(750 * 28 / 0.9)
    gin = write_cost(Candidate("t", (Key(None, "lower(x)"),), "gin"), table)
    assert gin["gin_pending_list"] is True
    assert gin["updates_of_these_columns_lose_hot"] == []


def test_a_candidate_with_nothing_fresh_left_never_stops_the_search():
    wide, narrow = cand("x", statements=(0, 1)), cand("y", statements=(1, 2))
    trials = [  # wide's trials first: it is looked at first in the second round too
        Trial(0, 0, 100.0, 10.0, True),
        Trial(0, 1, 100.0, 10.0, True),
        Trial(1, 1, 100.0, 10.0, True),
        Trial(1, 2, 100.0, 40.0, True),
    ]
    chosen = choose([wide, narrow], trials, min_reduction=0.5)
    assert [(c, [t.statement for t in won]) for c, won in chosen] == [
        (wide, [0, 1]),
        (narrow, [2]),
    ]


def test_an_expression_key_counts_16_bytes():
    expression = Candidate("t", (Key(None, "upper(c)"),))
    assert estimated_size(expression, TableFacts("t", 100)) == int(100 * (24 + 4) / 0.9)


def test_write_cost_multiplies_the_share_of_each_predicate_value():
    table = TableFacts(
        "t",
        1000,
        columns={
            "state": ColumnFacts("state", n_distinct=3, mcv=("done", "failed"), mcf=(0.9, 0.02)),
            "kind": ColumnFacts("kind", n_distinct=2, mcv=("a", "b"), mcf=(0.5, 0.5)),
        },
    )
    where = (Predicate("kind", "=", "a"), Predicate("state", "=", "failed"))
    # 2 % of the rows are failed, half of those of kind a: 1 % of 1,000 rows.
    assert write_cost(cand("b", where=where), table)["estimated_bytes"] == int(10 * 28 / 0.9)
