"""Keyset (cursor) pagination: the row comparison the (created_at DESC, id DESC) indexes seek on,
and the opaque cursor that carries the last row's (created_at, id) to the next page.

Its own module so that selectors (reads) and serializers (input validation) both use it without
importing each other.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime

from django.db.models import BooleanField
from django.db.models.expressions import RawSQL

MAX_BIGINT = 2**63 - 1


class InvalidCursor(ValueError):
    """A cursor this API did not issue (tampered, truncated, out of range)."""


def keyset_before(table: str, created_at: datetime, pk: int) -> RawSQL:
    """``(created_at, id) < (%s, %s)``: a row comparison PostgreSQL turns into one index range
    on the (..., created_at DESC, id DESC) composites. Django's ``Q(a__lt) | Q(a=, id__lt)``
    spelling is equivalent but the planner can only filter with it, not seek."""
    # Only the table name (from model meta) is interpolated; values are parameters.
    return RawSQL(  # noqa: S611
        f'("{table}"."created_at", "{table}"."id") < (%s, %s)',
        (created_at, pk),
        output_field=BooleanField(),
    )


def encode_cursor(created_at: datetime, pk: int) -> str:
    raw = f"{created_at.isoformat()}|{pk}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(value: str) -> tuple[datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        moment, pk = raw.split("|")
        created_at, pk = datetime.fromisoformat(moment), int(pk)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise InvalidCursor("Invalid cursor.") from None
    if created_at.tzinfo is None or not 0 < pk <= MAX_BIGINT:
        raise InvalidCursor("Invalid cursor.")
    return created_at, pk
