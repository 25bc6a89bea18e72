"""The command line's times: durations ("90m", "24h", "14d", "2w") and moments (a duration
ago, or an ISO 8601 date/time). Pure; a ValueError names what it could not read."""

from __future__ import annotations

import datetime as dt
import re

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$", re.IGNORECASE)
#: Longer than any history keeps; beyond it a timedelta (or now - it) overflows.
_LONGEST = dt.timedelta(days=100 * 365)


def _shown(text) -> str:
    """The input as an error message quotes it: never a page's worth of it."""
    text = str(text)
    return repr(text if len(text) <= 40 else text[:40] + "...")


def parse_duration(text: str) -> dt.timedelta:
    match = _DURATION.match(text or "")
    if not match:
        raise ValueError(
            f"{_shown(text)} is not a duration (a number and s, m, h, d or w: 24h, 14d)"
        )
    seconds = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if seconds <= 0:
        raise ValueError(f"{_shown(text)} is not a duration longer than zero")
    if seconds > _LONGEST.total_seconds():
        raise ValueError(f"{_shown(text)} is longer than 100 years")
    return dt.timedelta(seconds=seconds)


def parse_moment(text: str, *, now: dt.datetime) -> dt.datetime:
    """``text`` ago ("24h") or an ISO 8601 date/time (without a zone: in ``now``'s)."""
    if _DURATION.match(text or ""):  # a duration: its own error (zero, too long) if bad
        return now - parse_duration(text)
    try:
        moment = dt.datetime.fromisoformat((text or "").strip())
    except ValueError:
        raise ValueError(
            f"{_shown(text)} is neither a duration ago (24h, 7d) nor an ISO 8601 date/time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=now.tzinfo)
    return moment
