"""perfaudit.plantime: each node's own share of the time, buffers, the filter hint (pure)."""

import pytest

from perfaudit import plantime

ANALYZED = {
    "Plan": {
        "Node Type": "Sort",
        "Actual Total Time": 10.0,
        "Actual Loops": 1,
        "Total Cost": 100.0,
        "Plans": [
            {
                "Node Type": "Hash Join",
                "Actual Total Time": 8.0,
                "Actual Loops": 1,
                "Total Cost": 80.0,
                "Plans": [
                    {
                        "Node Type": "Seq Scan",
                        "Relation Name": "tasks_task",
                        "Actual Total Time": 6.0,
                        "Actual Loops": 1,
                        "Actual Rows": 20,
                        "Rows Removed by Filter": 1980,
                        "Filter": "(priority = 'high')",
                        "Total Cost": 60.0,
                        "Shared Hit Blocks": 12,
                        "Shared Read Blocks": 3,
                        "Temp Read Blocks": 0,
                    },
                    {
                        "Node Type": "Index Scan",
                        "Actual Total Time": 0.25,
                        "Actual Loops": 4,  # 4 loops x 0.25 ms = 1 ms in all
                        "Actual Rows": 1,
                        "Total Cost": 5.0,
                    },
                ],
            }
        ],
    },
    "Planning Time": 0.5,
    "Execution Time": 10.0,
}


def test_own_time_is_total_minus_children_as_share_of_execution():
    times = plantime.node_times(ANALYZED)
    assert [round(times[n].own, 2) for n in (1, 2, 3, 4)] == [2.0, 1.0, 6.0, 1.0]
    assert [round(times[n].share) for n in (1, 2, 3, 4)] == [20, 10, 60, 10]
    assert {t.basis for t in times.values()} == {"time"}
    assert round(sum(t.share for t in times.values())) == 100


def test_without_analyze_shares_are_of_the_cost():
    plain = {"Plan": {"Node Type": "Limit", "Total Cost": 50.0, "Plans": [{"Total Cost": 40.0}]}}
    times = plantime.node_times(plain)
    assert (times[1].own, times[1].share, times[1].basis) == (10.0, 20.0, "cost")
    assert times[2].share == 80.0


def test_buffers_listed_only_when_reported():
    scan = ANALYZED["Plan"]["Plans"][0]["Plans"][0]
    assert plantime.node_buffers(scan) == [("shared hit", 12), ("shared read", 3)]
    assert plantime.node_buffers(ANALYZED["Plan"]) == []


def test_filter_hint_for_a_filter_heavy_seq_scan():
    scan = ANALYZED["Plan"]["Plans"][0]["Plans"][0]
    hint = plantime.filter_hint(scan)
    assert hint.startswith("Read 2,000 rows to keep 20 (99.0 % discarded by (priority = 'high'))")
    assert "an index on tasks_task" in hint


@pytest.mark.parametrize(
    "node",
    [
        {"Node Type": "Seq Scan", "Actual Rows": 50, "Rows Removed by Filter": 60},  # few
        {"Node Type": "Seq Scan", "Actual Rows": 500, "Rows Removed by Filter": 1000},  # 2:1
        {"Node Type": "Hash Join", "Actual Rows": 1, "Rows Removed by Filter": 10_000},
        {"Node Type": "Seq Scan", "Actual Rows": 1},  # no filter
    ],
)
def test_no_filter_hint(node):
    assert plantime.filter_hint(node) is None


def test_index_scan_filter_hint_counts_loops():
    node = {
        "Node Type": "Index Scan",
        "Actual Rows": 1,
        "Actual Loops": 50,
        "Rows Removed by Filter": 40,
        "Filter": "(NOT completed)",
    }
    hint = plantime.filter_hint(node)
    assert hint.startswith("Read 2,050 rows to keep 50")
    assert "add the filtered column to the index" in hint


def test_timing():
    assert plantime.timing(ANALYZED) == {"planning_ms": 0.5, "execution_ms": 10.0}
    assert plantime.timing({"Plan": {}}) == {"planning_ms": None, "execution_ms": None}
