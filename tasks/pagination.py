"""The link to the next keyset page, built the same way by sync and async views."""

from django.http import HttpRequest


def with_next_link(request: HttpRequest, page: dict) -> dict:
    cursor = page["next_cursor"]
    if cursor is None:
        return {"next": None, **page}
    query = request.GET.copy()
    query["cursor"] = cursor
    return {"next": f"{request.path}?{query.urlencode()}", **page}
