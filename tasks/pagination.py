"""The link to the next keyset page, built the same way by sync and async views."""

from urllib.parse import urlencode

from django.http import HttpRequest


def with_next_link(request: HttpRequest, page: dict) -> dict:
    """The request's own query with ``cursor`` set to the page's next cursor (in the place of
    the old one, else last), encoded as QueryDict.urlencode would: without copying the
    QueryDict (a deepcopy of every value), a cost on every page of every list."""
    cursor = page["next_cursor"]
    if cursor is None:
        return {"next": None, **page}
    pairs, placed = [], False
    for key, values in request.GET.lists():
        if key == "cursor":
            pairs.append((key, cursor))
            placed = True
        else:
            pairs.extend((key, value) for value in values)
    if not placed:
        pairs.append(("cursor", cursor))
    return {"next": f"{request.path}?{urlencode(pairs)}", **page}
