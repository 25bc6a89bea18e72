"""Request bodies sent with ``Transfer-Encoding: chunked`` (no Content-Length) are read, through
the real servers: gunicorn's sync worker (WSGI) and its uvicorn worker (ASGI). They used to be
dropped (DRF reads nothing without a Content-Length): "title: required" for a task that had one.
Too large a chunked body is a JSON 413, as with a Content-Length; a WSGI server that cannot
de-chunk gets a JSON 411, never an empty body.
"""

import http.client
import io
import json

import pytest

from benchmarks.servers import gunicorn
from taskproject.handlers import ChunkedBodyWSGI
from taskproject.tests.deployment import app_env, test_database_url
from tasks import services
from tasks.models import Task

pytestmark = pytest.mark.django_db(transaction=True)  # the servers must see the rows


def post_chunked(base: str, path: str, token: str, chunks: list[bytes]):
    host, port = base.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request(
            "POST",
            path,
            body=iter(chunks),
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
            encode_chunked=True,
        )
        response = conn.getresponse()
        return response.status, json.loads(response.read() or b"null")
    finally:
        conn.close()


@pytest.mark.parametrize("kind", ["sync", "asgi"])
def test_a_chunked_body_is_read_or_refused_never_dropped(owner, kind):
    _token, secret = services.token_issue(user=owner)
    env = app_env(test_database_url(), MAX_REQUEST_BODY_BYTES="4096")
    app = "taskproject.wsgi:application" if kind == "sync" else "taskproject.asgi:application"
    with gunicorn(app, env=env, workers=1, kind=kind) as base:
        status, body = post_chunked(
            base,
            "/api/tasks/",
            secret,
            [b'{"title": "sent in ', b'chunks", ', b'"priority": "high"}'],
        )
        assert (status, body["title"], body["priority"]) == (201, "sent in chunks", "high")
        big = json.dumps({"title": "x", "description": "y" * 5000}).encode()
        status, body = post_chunked(base, "/api/tasks/", secret, [big[:3000], big[3000:]])
        assert status == 413
        assert "too large" in body["detail"]
    assert list(Task.objects.filter(owner=owner).values_list("title", flat=True)) == [
        "sent in chunks"
    ]


def test_wsgi_without_a_dechunking_server_answers_411():
    called = []

    def app(environ, start_response):
        called.append(environ)
        start_response("200 OK", [])
        return [b""]

    replies = []
    body = ChunkedBodyWSGI(app)(
        {
            "REQUEST_METHOD": "POST",
            "HTTP_TRANSFER_ENCODING": "chunked",
            "wsgi.input": io.BytesIO(b"5\r\nhello\r\n0\r\n\r\n"),
        },
        lambda status, headers: replies.append((status, dict(headers))),
    )
    assert not called
    assert replies[0][0].startswith("411")
    assert replies[0][1]["Content-Type"] == "application/json"
    assert "Content-Length" in json.loads(b"".join(body))["detail"]
