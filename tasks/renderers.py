"""orjson for every JSON response (sync DRF views and async views render with the same bytes)."""

from decimal import Decimal

import orjson
from django.http import HttpResponse
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer

# UTC datetimes as "...Z", like DRF's own DateTimeField output.
OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NON_STR_KEYS


def _default(value):
    if isinstance(value, Decimal):
        return float(value)
    # Lazy translation strings (DRF error messages) and other str-able objects.
    return str(value)


def dumps(data) -> bytes:
    return orjson.dumps(data, default=_default, option=OPTIONS)


def json_response(data, *, status: int = 200) -> HttpResponse:
    return HttpResponse(dumps(data), status=status, content_type="application/json")


class ORJSONRenderer(BaseRenderer):
    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        # The browsable API asks for indentation (renderer_context["indent"]), as may a client
        # with "Accept: application/json; indent=2"; API responses stay compact otherwise.
        if (renderer_context or {}).get("indent") or "indent=" in (accepted_media_type or ""):
            return orjson.dumps(data, default=_default, option=OPTIONS | orjson.OPT_INDENT_2)
        return dumps(data)


class ContentNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, answering the API's common case without parsing: no format override
    and an ``Accept`` header that is absent, ``*/*`` or exactly the first renderer's media type
    select the first renderer with its media type, which is what DRF's matching returns for
    them. Anything else (``?format=``, a format suffix, parameters such as ``indent=2``, a list
    of types, the browsable API's ``text/html``) goes through DRF's own matching. DRF builds
    ``request.headers`` (every header, normalised) to read the one it needs here; ``META`` is
    already there."""

    def select_renderer(self, request, renderers, format_suffix=None):
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        first = renderers[0] if renderers else None
        if (
            first is not None
            and format_suffix is None
            and accept in ("*/*", first.media_type)
            and self.settings.URL_FORMAT_OVERRIDE not in request.query_params
        ):
            return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)
