"""What a benchmark scenario is: two sides (the naive baseline and ours) of one question."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Side:
    label: str
    path: str
    user: str = "owner"  # whose token: "owner" or "staff"
    server: str = "sync"  # key into the servers started for the scenario
    method: str = "GET"
    # False for sides served by another app (the floor): no in-process query count or EXPLAIN.
    in_process: bool = True


@dataclass
class Scenario:
    name: str
    question: str
    baseline: Side
    ours: Side
    connections: int
    servers: dict[str, dict] = field(default_factory=lambda: {"sync": {}})
    results: dict[str, list] = field(default_factory=dict)
    queries: dict[str, int] = field(default_factory=dict)
