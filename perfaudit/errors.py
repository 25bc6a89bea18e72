"""The one error type perfaudit shows to users (commands: exit 2; admin pages: on the page)."""

from __future__ import annotations


class ServiceError(Exception):
    """A problem the user must fix (bad input, unreachable database): one line, no traceback."""


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else exc.__class__.__name__
