"""Sequences and how far each has gone towards the largest value it (or its column) can take.

The limit is the smaller of the sequence's own MAXVALUE and the column type's maximum: a bigint
sequence feeding an integer column fails at 2,147,483,647, whatever the sequence allows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from perfaudit.snapshots.base import Record, Snapshot

#: Largest value of each integer type a sequence may feed.
TYPE_MAX = {"smallint": 32767, "integer": 2147483647, "bigint": 9223372036854775807}


@dataclass(frozen=True)
class SequenceInfo(Record):
    schema: str
    name: str
    data_type: str  # the sequence's own type
    increment: int
    min_value: int
    max_value: int
    cycle: bool
    #: None when the sequence was never used or we may not read it (no SELECT privilege).
    last_value: int | None
    table: str | None = None
    column: str | None = None
    column_type: str | None = None  # smallint / integer / bigint / other
    identity: bool = False

    @property
    def limit(self) -> int:
        """The largest value a nextval() can hand out and the column can store."""
        if self.increment < 0:
            return self.min_value
        column_max = TYPE_MAX.get(self.column_type or "")
        return min(self.max_value, column_max) if column_max else self.max_value

    @property
    def used_ratio(self) -> float | None:
        if self.last_value is None:
            return None
        if self.increment < 0:
            span = self.max_value - self.min_value
            return (self.max_value - self.last_value) / span if span else 1.0
        span = self.limit - self.min_value
        return (self.last_value - self.min_value) / span if span else 1.0

    @property
    def values_left(self) -> int | None:
        if self.last_value is None:
            return None
        return abs(self.limit - self.last_value) // max(abs(self.increment), 1)


@dataclass(frozen=True)
class SequencesSelection(Record):
    table: str | None = None


@dataclass(frozen=True)
class SequencesSnapshot(Snapshot):
    KIND = "sequences"

    sequences: tuple[SequenceInfo, ...]
    selection: SequencesSelection = field(default_factory=SequencesSelection)
