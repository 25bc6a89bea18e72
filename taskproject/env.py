"""Typed reads of environment variables that fail loudly, naming the variable.

Settings are read once at start; a typo in production must stop the process with a message that
says which variable is wrong and what was expected, not surface later as odd behaviour.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
# DRF throttle rates: requests per second/minute/hour/day ("20/min", "100/hour").
_RATE = re.compile(r"^[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)$")
FALSE = {"0", "false", "no", "off", ""}


class Env:
    def __init__(self, environ: Mapping[str, str] | None = None):
        self.environ = os.environ if environ is None else environ

    def is_set(self, name: str) -> bool:
        return self.environ.get(name, "").strip() != ""

    def str(self, name: str, default: str = "") -> str:
        return self.environ.get(name, default).strip() or default

    def bool(self, name: str, default: bool = False) -> bool:
        raw = self.environ.get(name)
        if raw is None:
            return default
        value = raw.strip().lower()
        if value in TRUE:
            return True
        if value in FALSE:
            return False
        raise ImproperlyConfigured(
            f"{name}: expected one of 1/0, true/false, yes/no, on/off; got {raw!r}"
        )

    def int(
        self,
        name: str,
        default: int | None,
        *,
        minimum: int | None = None,
        maximum: int | None = None,
    ) -> int | None:
        raw = self.environ.get(name, "").strip()
        if raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: expected an integer, got {raw!r}") from None
        if minimum is not None and value < minimum:
            raise ImproperlyConfigured(f"{name}: must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise ImproperlyConfigured(f"{name}: must be <= {maximum}, got {value}")
        return value

    def float(self, name: str, default: float, *, minimum: float = 0.0) -> float:
        raw = self.environ.get(name, "").strip()
        if raw == "":
            return default
        try:
            value = float(raw)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: expected a number, got {raw!r}") from None
        if value < minimum:
            raise ImproperlyConfigured(f"{name}: must be >= {minimum}, got {value}")
        return value

    def list(self, name: str, default: list[str]) -> list[str]:
        raw = self.environ.get(name)
        if raw is None or raw.strip() == "":
            return list(default)
        return [item.strip() for item in raw.split(",") if item.strip()]

    def rate(self, name: str, default: str | None) -> str | None:
        """A DRF throttle rate such as ``20/min``; ``off`` (or ``0``) turns the limit off."""
        raw = self.environ.get(name, "").strip().lower()
        if raw == "":
            return default
        if raw in {"off", "0", "none"}:
            return None
        if not _RATE.match(raw):
            raise ImproperlyConfigured(
                f"{name}: expected a rate like 20/min (per s, min, hour or day) or off, got {raw!r}"
            )
        return raw
