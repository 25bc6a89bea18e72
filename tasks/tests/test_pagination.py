"""tasks.pagination.with_next_link: the request's query with the next cursor, encoded exactly as
QueryDict's copy + urlencode did (the links clients follow do not change)."""

import pytest
from django.test import RequestFactory

from tasks.pagination import with_next_link

CURSOR = "MjAyNi0xMi0wM1QxMzo1MDo_OTcyMzIyKzAwOjAwfDE-MjM"


def reference(request) -> str:
    query = request.GET.copy()
    query["cursor"] = CURSOR
    return f"{request.path}?{query.urlencode()}"


@pytest.mark.parametrize(
    "query",
    [
        "",
        "page_size=50",
        "cursor=old&page_size=5",
        "page_size=5&cursor=old",
        "a=1&a=2&cursor=x&b=%C3%A9+%26&c=",
        "q=hello world&x=~!*'()&scope=all",
    ],
)
def test_next_link_keeps_the_query_and_sets_the_cursor(query):
    request = RequestFactory().get(f"/api/tasks/?{query}")
    page = {"next_cursor": CURSOR, "results": [1]}
    linked = with_next_link(request, page)
    assert linked == {"next": reference(request), **page}
    assert list(linked) == ["next", "next_cursor", "results"]


def test_no_next_cursor_no_link():
    request = RequestFactory().get("/api/tasks/?page_size=5")
    assert with_next_link(request, {"next_cursor": None, "results": []}) == {
        "next": None,
        "next_cursor": None,
        "results": [],
    }
