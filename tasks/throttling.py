"""Rate limits for the token endpoint and the bulk endpoints (DRF throttles, cache-backed).

Rates come from settings (``API_THROTTLE_RATES``, read from the environment) at request time
rather than from DRF's class attribute, which DRF fixes at import: so a settings override in a
test, or a rate of ``None`` ("off"), takes effect at once. The counters live in Django's cache:
with the default local-memory cache each worker process counts on its own (a client can get
``workers x rate``); with Redis (``REDIS_URL``) the limit is global, except while Redis is away:
then each process counts in its own memory again (fail open to a per-process limit, never a
failed request; taskproject.rediscache.FailOpenCache).
"""

from __future__ import annotations

import math
from types import SimpleNamespace

from django.conf import settings
from rest_framework.throttling import ScopedRateThrottle

from taskproject.rediscache import FailOpenCache


class ScopedThrottle(ScopedRateThrottle):
    """DRF's scoped throttle: per user when authenticated, per client address otherwise."""

    cache = FailOpenCache()

    def get_rate(self):
        return settings.API_THROTTLE_RATES.get(self.scope)


def throttle_wait(*, scope: str, user, meta) -> int | None:
    """For views outside DRF (the async bulk-complete): None when allowed, else seconds to wait.

    Same scope, cache keys and rates as the DRF views, so the sync and async twins of an
    endpoint share one budget.
    """
    throttle = ScopedThrottle()
    request = SimpleNamespace(user=user, META=meta)
    if throttle.allow_request(request, SimpleNamespace(throttle_scope=scope)):
        return None
    return max(1, math.ceil(throttle.wait() or 1))
