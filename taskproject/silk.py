"""django-silk, recording nothing a credential could be rebuilt from.

The first layer is at the source: the token lookup sends only a SHA-256 digest to the database
(tasks.tokens), so no recorded SQL holds a secret. Silk's own masking covers request headers
(``Authorization``, cookies) and request bodies (keys matching ``SILKY_SENSITIVE_KEYS``, e.g.
``password``). It does not touch response bodies, which it stores twice (pretty JSON and the raw
bytes in base64): this middleware hands silk a stand-in response for the ones that carry a
secret (views mark them with ``response.holds_credentials``, tasks.views.credential_response),
whatever their content type, and masks sensitive keys in every other JSON response body.
The client always gets the real response.
"""

from __future__ import annotations

import json
import re

from django.http import HttpResponse
from silk.config import SilkyConfig
from silk.middleware import SilkyMiddleware

MASK = "********************"
WITHHELD = b'{"detail": "response body withheld by silk masking: it holds a credential"}'


def _sensitive_key(keys):
    return re.compile("|".join(re.escape(k) for k in keys), re.IGNORECASE) if keys else None


def _mask(value, pattern):
    if isinstance(value, dict):
        return {
            key: MASK if pattern.search(str(key)) else _mask(item, pattern)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [_mask(item, pattern) for item in value]
    return value


def recorded_body(response) -> bytes | None:
    """The body silk may keep for ``response``, or None to keep it as it is."""
    if getattr(response, "holds_credentials", False):
        return WITHHELD
    if getattr(response, "streaming", False) or "json" not in response.get("Content-Type", ""):
        return None
    pattern = _sensitive_key(SilkyConfig().SILKY_SENSITIVE_KEYS)
    if pattern is None or not pattern.search(response.content.decode("utf-8", "replace")):
        return None  # no sensitive key name anywhere in the body: nothing to parse
    try:
        data = json.loads(response.content)
    except ValueError:
        return WITHHELD
    masked = json.dumps(_mask(data, pattern)).encode()
    return None if masked == json.dumps(data).encode() else masked


class CredentialMaskingSilkyMiddleware(SilkyMiddleware):
    def process_response(self, request, response):
        if not getattr(request, "silk_is_intercepted", False):
            return response
        body = recorded_body(response)
        if body is None:
            return super().process_response(request, response)
        stand_in = HttpResponse(body, status=response.status_code)
        for name, value in response.items():
            stand_in[name] = value
        stand_in["Content-Length"] = str(len(body))
        super().process_response(request, stand_in)
        return response
