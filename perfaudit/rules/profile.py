"""profilequery's rule: a median at or above SLOW_QUERY_MS."""

from __future__ import annotations

from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding
from perfaudit.snapshots.profile import ProfileSnapshot


def evaluate(snapshot: ProfileSnapshot, conf: PerfauditSettings) -> list[Finding]:
    summary = snapshot.profile.summary()
    if conf.SLOW_QUERY_MS is None or summary["median_ms"] < conf.SLOW_QUERY_MS:
        return []
    return [
        Finding(
            kind="slow_query",
            severity="warning",
            table=None,
            object="profiled query",
            message=f"median {summary['median_ms']:.1f} ms >= {conf.SLOW_QUERY_MS} ms: "
            "explain it with manage.py explain --analyze",
            evidence={k: v for k, v in summary.items() if k != "timings_ms"},
        )
    ]
