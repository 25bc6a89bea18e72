"""The runner's sequencing (benchmarks.run.run_rounds), with stand-ins for wrk and the wait:
what runs in which order, never how long anything takes."""

from benchmarks.definitions import Scenario, Side
from benchmarks.run import run_rounds


def scenario(name: str) -> Scenario:
    return Scenario(name, "?", Side(f"{name}-base", "/b/"), Side(f"{name}-ours", "/o/"), 4)


def record(group, rounds=3):
    events = []

    def run_side(scenario, side, seconds):
        events.append(("timed" if seconds == 5 else "warm-up", side.label))
        return side.label

    run_rounds(
        group,
        rounds=rounds,
        seconds=5,
        warmup=1,
        run_side=run_side,
        settle=lambda: events.append(("settle", None)),
    )
    return events


def test_every_timed_run_waits_for_the_run_before_it_to_settle():
    events = record([scenario("a"), scenario("b")])
    timed = [i for i, (kind, _) in enumerate(events) if kind == "timed"]
    assert len(timed) == 3 * 2 * 2
    # The event right before each timed run is the wait: nothing of the previous run (the
    # other side's or a warm-up) is in flight when the clock starts.
    assert all(events[i - 1] == ("settle", None) for i in timed)
    # Warm-ups come first, all of them, and are not waited on one by one.
    assert [kind for kind, _ in events[:4]] == ["warm-up"] * 4


def test_rounds_alternate_sides_and_scenarios_and_fill_each_sides_results():
    a, b = scenario("a"), scenario("b")
    events = record([a, b], rounds=2)
    order = [label for kind, label in events if kind == "timed"]
    assert order == [
        *("a-base", "a-ours", "b-base", "b-ours"),
        *("b-ours", "b-base", "a-ours", "a-base"),
    ]
    assert a.results == {"baseline": ["a-base"] * 2, "ours": ["a-ours"] * 2}
    assert b.results == {"baseline": ["b-base"] * 2, "ours": ["b-ours"] * 2}
