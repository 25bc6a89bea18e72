"""The browsable API (a browser on /api/...): readable titles and pretty-printed JSON."""

import pytest

from tasks.tests.conftest import make_tasks

pytestmark = pytest.mark.django_db


def test_browsable_api_is_pretty_printed_with_a_readable_title(client, owner):
    make_tasks(owner, 2)
    client.force_login(owner)
    response = client.get("/api/tasks/", HTTP_ACCEPT="text/html")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<title>Tasks \u2013 Django REST framework</title>" in html
    assert "Task List Create" not in html
    # One key per line, indented (it was one long line).
    assert "{\n  &quot;next&quot;: null,\n  &quot;next_cursor&quot;: null," in html


def test_api_responses_stay_compact(api, owner):
    make_tasks(owner, 1)
    body = api(owner).get("/api/tasks/").content
    assert b"\n" not in body
