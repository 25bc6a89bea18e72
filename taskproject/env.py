"""Typed reads of environment variables that fail loudly, naming the variable.

Settings are read once at start; a typo in production must stop the process with a message that
says which variable is wrong and what was expected, not surface later as odd behaviour.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

TRUE = {"1", "true", "yes", "on"}
# DRF throttle rates: requests per second/minute/hour/day ("20/min", "100/hour").
_RATE = re.compile(r"^[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)$")
FALSE = {"0", "false", "no", "off", ""}
# Durations: a number of seconds, or a number with a unit ("90s", "15m", "12h", "30d").
_DURATION = re.compile(r"^([0-9]+)\s*([smhd]?)$")
_UNIT_SECONDS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


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
        if not math.isfinite(value):
            raise ImproperlyConfigured(f"{name}: expected a finite number, got {raw!r}")
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

    def duration(self, name: str, default: timedelta, *, minimum: timedelta) -> timedelta:
        """Seconds (``3600``) or a number with a unit: ``90s``, ``15m``, ``12h``, ``30d``."""
        raw = self.environ.get(name, "").strip().lower()
        if raw == "":
            return default
        match = _DURATION.match(raw)
        if not match:
            raise ImproperlyConfigured(
                f"{name}: expected seconds or a number with a unit (s, m, h, d) like 30d, "
                f"got {raw!r}"
            )
        value = timedelta(seconds=int(match[1]) * _UNIT_SECONDS[match[2]])
        if value < minimum:
            raise ImproperlyConfigured(
                f"{name}: must be at least {int(minimum.total_seconds())} seconds, got {raw!r}"
            )
        return value
