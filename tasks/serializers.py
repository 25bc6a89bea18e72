"""Input validation. Output is built by the selectors from ``.values()`` rows (no serializer
instances per row: that is most of the time a plain ModelSerializer list spends)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from rest_framework import serializers

from tasks import keyset
from tasks.keyset import MAX_BIGINT, encode_cursor
from tasks.models import Priority

__all__ = ["MAX_BIGINT", "decode_cursor", "encode_cursor"]


class StrictMixin:
    """Unknown fields are a 400 naming them, not silently ignored (a typo such as ``complete``
    would otherwise be a successful no-op)."""

    ignored: frozenset[str] = frozenset()

    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields) - self.ignored)
            if unknown:
                raise serializers.ValidationError({name: ["Unknown field."] for name in unknown})
        return super().to_internal_value(data)


class StrictBooleanField(serializers.BooleanField):
    """JSON true/false only (DRF's BooleanField also takes "yes", "on", 1...)."""

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        self.fail("invalid", input=data)


class StrictCharField(serializers.CharField):
    """JSON strings only: DRF's CharField turns 0, 1.5 or true into "0", "1.5", "True", so a
    client's type mistake would be stored as text. (Found by schemathesis: a numeric
    ``description`` was accepted although the schema says string.)"""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


# --- keyset cursors ------------------------------------------------------------------------


def decode_cursor(value: str) -> tuple[datetime, int]:
    """tasks.keyset.decode_cursor, failing as a validation error (400 naming the field)."""
    try:
        return keyset.decode_cursor(value)
    except keyset.InvalidCursor as exc:
        raise serializers.ValidationError(str(exc)) from None


# Distinct valid query strings remembered per parameter class (QueryParams.parse).
PARSED_MEMO_SIZE = 512


class QueryParams(StrictMixin, serializers.Serializer):
    # DRF's own format override (?format=api for the browsable API).
    ignored = frozenset({"format"})

    @classmethod
    def parse_or_none(cls, query_dict) -> dict | None:
        """The parsed query, or None when it is invalid (for a caller that must authenticate
        before it may answer 400, DRF's order, and parses again then)."""
        try:
            return cls.parse(query_dict)
        except serializers.ValidationError:
            return None

    @classmethod
    def parse(cls, query_dict) -> dict:
        if not query_dict:
            # The common no-parameter request: skip building a serializer (DRF deep-copies
            # every field per instance, ~0.2 ms) and use the defaults computed once.
            return dict(cls._defaults())
        # A plain dict, not the QueryDict: DRF treats a QueryDict like an HTML form, where a
        # missing boolean means False (so an absent ?completed= would filter on False).
        data = {key: query_dict.get(key) for key in query_dict}
        # Validation is a pure function of these strings, and clients repeat the same query
        # (?page_size=50) on every request: building the serializer costs ~0.2 ms (DRF
        # deep-copies every field per instance). Valid results are remembered, a bounded number;
        # invalid ones are validated each time (their 400 is built from the serializer).
        key = tuple(data.items())
        memo = cls.__dict__.get("_parsed")
        if memo is None:
            memo = cls._parsed = {}
        found = memo.get(key)
        if found is None:
            serializer = cls(data=data)
            serializer.is_valid(raise_exception=True)
            found = dict(serializer.validated_data)
            if len(memo) >= PARSED_MEMO_SIZE:
                memo.clear()
            memo[key] = found
        return dict(found)

    @classmethod
    def _defaults(cls) -> dict:
        cached = cls.__dict__.get("_cached_defaults")
        if cached is None:
            serializer = cls(data={})
            # Classes with a required parameter have no defaults: let parse() report it.
            cached = dict(serializer.validated_data) if serializer.is_valid() else None
            cls._cached_defaults = cached
        if cached is None:
            serializer = cls(data={})
            serializer.is_valid(raise_exception=True)
        return cached


class PageParams(QueryParams):
    page_size = serializers.IntegerField(min_value=1, max_value=1000, default=50)
    # A real cursor is ~70 characters; the cap keeps a hostile one from being decoded at all.
    cursor = serializers.CharField(required=False, max_length=200)

    def validate_cursor(self, value):
        return decode_cursor(value)


class TaskListParams(PageParams):
    completed = serializers.BooleanField(required=False)
    priority = serializers.ChoiceField(Priority.choices, required=False)
    due_before = serializers.DateTimeField(required=False)
    due_after = serializers.DateTimeField(required=False)


class OwnTaskListParams(TaskListParams):
    scope = serializers.ChoiceField(["own", "all"], default="own")


class SearchParams(QueryParams):
    q = serializers.CharField(min_length=1, max_length=200)
    mode = serializers.ChoiceField(["fulltext", "substring"], default="fulltext")
    page_size = serializers.IntegerField(min_value=1, max_value=1000, default=50)


class StatsParams(QueryParams):
    scope = serializers.ChoiceField(["own", "global"], default="own")


class SummaryParams(QueryParams):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_BIGINT),
        allow_empty=False,
        min_length=1,  # also in the schema (minItems), which allow_empty alone is not
        max_length=1000,
    )

    @classmethod
    def parse(cls, query_dict) -> dict:
        data = {key: query_dict.get(key) for key in query_dict}
        data["ids"] = query_dict.getlist("ids")
        serializer = cls(data=data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


# --- request bodies ------------------------------------------------------------------------


class TaskWriteSerializer(StrictMixin, serializers.Serializer):
    title = StrictCharField(min_length=1, max_length=200)
    description = StrictCharField(
        required=False, allow_blank=True, max_length=10_000, trim_whitespace=False
    )
    completed = StrictBooleanField(required=False)
    priority = serializers.ChoiceField(Priority.choices, required=False)
    due_date = serializers.DateTimeField(required=False, allow_null=True)


class TaskBulkCreateSerializer(StrictMixin, serializers.Serializer):
    tasks = TaskWriteSerializer(many=True, allow_empty=False, min_length=1, max_length=1000)


class BulkCompleteSerializer(StrictMixin, serializers.Serializer):
    ids = serializers.ListField(
        child=serializers.IntegerField(min_value=1, max_value=MAX_BIGINT),
        allow_empty=False,
        min_length=1,  # also in the schema (minItems), which allow_empty alone is not
        max_length=1000,
    )
    completed = StrictBooleanField(default=True)


# --- output shapes (for the OpenAPI schema only) -----------------------------------------


class TaskOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    owner_id = serializers.IntegerField()
    title = serializers.CharField()
    description = serializers.CharField()
    completed = serializers.BooleanField()
    completed_at = serializers.DateTimeField(allow_null=True)
    priority = serializers.ChoiceField(Priority.choices)
    due_date = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class TaskPageSerializer(serializers.Serializer):
    next = serializers.CharField(allow_null=True)
    next_cursor = serializers.CharField(allow_null=True)
    results = TaskOutSerializer(many=True)
