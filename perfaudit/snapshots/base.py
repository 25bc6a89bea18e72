"""JSON for every snapshot: ``to_dict()`` / ``from_dict()`` driven by the dataclass's own types.

A snapshot is stored (history) and reloaded long after the code that made it, so its JSON is
plain and stable: one key per dataclass field, by name; datetimes as ISO 8601 text; tuples,
lists and sets as arrays; dicts with text keys as objects, others (an index oid, a (table,
index) pair) as arrays of ``[key, value]`` pairs. ``from_dict`` rebuilds the exact objects
(``from_dict(x.to_dict()) == x``) by reading each field's annotation, so a new field needs no
serialisation code, only a default for documents written before it existed.

A top-level snapshot (``Snapshot``) also names its kind and version: ``to_document()`` wraps
the fields as ``{"kind", "version", "data"}``, and ``from_document`` refuses another kind, and
a version it cannot read unless the class ``upgrade``s it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from decimal import Decimal
from functools import cache
from typing import Any, ClassVar


@cache
def _field_types(cls) -> dict[str, Any]:
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def dump(value: Any) -> Any:
    """Plain JSON types for ``value`` (dataclasses by field, datetimes as ISO text)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {name: dump(getattr(value, name)) for name in _field_types(type(value))}
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: dump(v) for k, v in value.items()}
        return [[dump(k), dump(v)] for k, v in value.items()]
    if isinstance(value, list | tuple):
        return [dump(v) for v in value]
    if isinstance(value, set | frozenset):
        return sorted((dump(v) for v in value), key=repr)
    raise TypeError(f"cannot store {type(value).__name__} in a snapshot")


_JSON_KINDS = {
    dict: (dict,),
    list: (list,),
    str: (str,),
    bool: (bool,),
    int: (int,),
    float: (int, float),
}


def _matches(data: Any, hint: Any) -> bool:
    """Whether ``data`` (JSON) can be a value of ``hint`` (for unions of several types)."""
    origin = typing.get_origin(hint) or hint
    if dataclasses.is_dataclass(origin) or origin is dict:
        return isinstance(data, dict | list) if origin is dict else isinstance(data, dict)
    if origin in (list, tuple, set, frozenset):
        return isinstance(data, list)
    if origin in (dt.datetime, dt.date, dt.time):
        return isinstance(data, str)
    if origin is bool:
        return isinstance(data, bool)
    return isinstance(data, _JSON_KINDS.get(origin, (object,))) and not (
        isinstance(data, bool) and origin is not bool
    )


def load(data: Any, hint: Any) -> Any:
    """The value of type ``hint`` that ``dump`` turned into ``data``."""
    if data is None or hint is Any or hint is object:
        return data
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in args if a is not type(None)]
        chosen = next((a for a in options if _matches(data, a)), options[0])
        return load(data, chosen)
    if dataclasses.is_dataclass(hint):
        types_ = _field_types(hint)
        return hint(**{k: load(v, types_[k]) for k, v in data.items() if k in types_})
    if hint is dt.datetime:
        return dt.datetime.fromisoformat(data)
    if hint is dt.date:
        return dt.date.fromisoformat(data)
    if hint is dt.timedelta:
        return dt.timedelta(seconds=data)
    if hint is float and isinstance(data, int):
        return float(data)
    if origin is dict:
        key_type, value_type = args or (Any, Any)
        pairs = data.items() if isinstance(data, dict) else data
        return {load(k, key_type): load(v, value_type) for k, v in pairs}
    if origin is tuple:
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(load(v, args[0]) for v in data)
        if args:
            return tuple(load(v, a) for v, a in zip(data, args, strict=True))
        return tuple(data)
    if origin in (list, set, frozenset):
        return origin(load(v, args[0] if args else Any) for v in data)
    if hint in (tuple, list, set, frozenset):
        return hint(data)
    return data


class Record:
    """A frozen dataclass of collected facts that round-trips through JSON."""

    def to_dict(self) -> dict[str, Any]:
        return dump(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        return load(data, cls)


class Snapshot(Record):
    """What one ``catalog.<topic>.collect`` returns: a record that names its kind and version.

    Bump ``VERSION`` when a field changes meaning or type, and give ``upgrade`` the step from
    the older document (adding a field with a default needs neither).
    """

    KIND: ClassVar[str] = ""
    VERSION: ClassVar[int] = 1

    def to_document(self) -> dict[str, Any]:
        return {"kind": self.KIND, "version": self.VERSION, "data": self.to_dict()}

    @classmethod
    def from_document(cls, document: dict[str, Any]):
        if document.get("kind") != cls.KIND:
            raise ValueError(f"not a {cls.KIND} snapshot: {document.get('kind')!r}")
        data = document["data"]
        if document.get("version") != cls.VERSION:
            data = cls.upgrade(data, version=document.get("version"))
        return cls.from_dict(data)

    @classmethod
    def upgrade(cls, data: dict[str, Any], *, version: Any) -> dict[str, Any]:
        raise ValueError(
            f"{cls.KIND} snapshot version {version!r} cannot be read (this is {cls.VERSION})"
        )
