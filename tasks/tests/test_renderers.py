"""tasks.renderers.ContentNegotiation answers as DRF's own negotiation does, for every kind of
Accept header and format override (its shortcut only skips the parsing)."""

import pytest
from django.test import RequestFactory
from rest_framework.exceptions import NotAcceptable
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer
from rest_framework.request import Request

from tasks.renderers import ContentNegotiation, ORJSONRenderer

RENDERERS = [ORJSONRenderer(), BrowsableAPIRenderer()]


def select(negotiation, query: str, accept: str | None, suffix=None):
    headers = {} if accept is None else {"HTTP_ACCEPT": accept}
    request = Request(RequestFactory().get(f"/api/tasks/{query}", **headers))
    try:
        renderer, media_type = negotiation.select_renderer(request, RENDERERS, suffix)
    except NotAcceptable:  # e.g. ?format=api with Accept: application/json
        return NotAcceptable
    return type(renderer), media_type


@pytest.mark.parametrize(
    "accept",
    [
        None,
        "*/*",
        "application/json",
        "application/json; indent=2",
        "text/html",
        "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "application/*",
        "*/*; q=0.5",
    ],
)
@pytest.mark.parametrize("query", ["", "?page_size=5", "?format=api", "?format=json"])
def test_the_same_renderer_and_media_type_as_drfs_negotiation(accept, query):
    assert select(ContentNegotiation(), query, accept) == select(
        DefaultContentNegotiation(), query, accept
    )


def test_a_format_suffix_is_drfs_to_handle():
    assert select(ContentNegotiation(), "", None, "api") == (BrowsableAPIRenderer, "text/html")


def test_the_api_uses_it():
    from rest_framework.settings import api_settings

    assert api_settings.DEFAULT_CONTENT_NEGOTIATION_CLASS is ContentNegotiation
