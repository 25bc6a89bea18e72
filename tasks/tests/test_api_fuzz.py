"""Schemathesis over our own OpenAPI schema (/api/schema/): no 5xx, responses match the schema.

In-process against the WSGI app (werkzeug's client, the full middleware stack) on the real test
database, authenticated as a normal user who owns a few tasks (then as staff), every operation
in the schema.
Bounded for CI: ``MAX_EXAMPLES`` generated cases per operation (positive and negative data,
hypothesis' database off so runs are reproducible from the seed) and a total time budget after
which remaining examples are skipped rather than sent. Run alone, verbosely:
``.venv/bin/python -m pytest tasks/tests/test_api_fuzz.py -v``.
"""

from __future__ import annotations

import time

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import positive_data_acceptance

from tasks.models import Task, User
from tasks.tests.conftest import token_for

MAX_EXAMPLES = 25
TIME_BUDGET_SECONDS = 60.0
_deadline: list[float] = []

# Loaded at collection (the schema view touches no database). Django's WSGI handler rather than
# taskproject.wsgi: importing that marks the whole test process as a web process
# (TASKPROJECT_WEB), which the subprocess-based settings tests would inherit.
schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler())


@pytest.fixture
def _keep_test_connection():
    # Django closes "old" connections at the start and end of every request; the test client
    # turns that off (the test's transaction lives on the connection), a bare WSGI handler
    # does not.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(params=["user", "staff"])
def fuzz_user(request, db, settings, _keep_test_connection):
    # Throttling would answer 429 after a few bulk cases and stop the fuzzer exploring them.
    settings.API_THROTTLE_RATES = {"auth": None, "bulk": None}
    # A normal user (what most callers are), then staff: the staff-only operations
    # (users list, summaries, scope=all/global) only get past their 403 as staff.
    user = User.objects.create_user(
        username="fuzzer",
        email="fuzz@example.com",
        full_name="Fuzz",
        password="pw-fuzz-1",
        is_staff=request.param == "staff",
    )
    Task.objects.bulk_create(Task(owner=user, title=f"fuzz {n}") for n in range(5))
    # (The revoke operations revoke this token: their later examples get a documented 401.)
    return user, token_for(user)


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_api_fuzz(case, fuzz_user):
    if not _deadline:
        _deadline.append(time.monotonic() + TIME_BUDGET_SECONDS)
    if time.monotonic() > _deadline[0]:
        return  # budget spent: the remaining examples are not sent (bounded CI time)
    user, token = fuzz_user
    # Random ids almost never name the caller's own objects: aim a third of the cases at them
    # so the success paths (read, update, delete a task; own dashboard) are fuzzed too.
    path_id = (case.path_parameters or {}).get("id")
    if isinstance(path_id, int | str) and str(path_id).isdigit() and int(path_id) % 3 == 0:
        own = [user.pk] if "/users/" in case.path else _own_task_ids(user)
        if own:
            case.path_parameters["id"] = str(own[int(path_id) % len(own)])
    case.call_and_validate(
        headers={"Authorization": f"Token {token}"},
        # Every schemathesis check but positive_data_acceptance: some of our constraints are
        # not expressible in OpenAPI (an opaque cursor must be one we issued; blanks are trimmed
        # before the length check; credentials must match), so schema-valid input can be a 400.
        excluded_checks=[positive_data_acceptance],
    )


def _own_task_ids(user) -> list[int]:
    return list(Task.objects.filter(owner=user).order_by("pk").values_list("pk", flat=True))


# --- what the fuzzer found, pinned as plain tests -------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "body",
    [{"title": "ok", "description": 0}, {"title": 5}, {"title": True}, {"title": 1.5}],
)
def test_non_string_text_is_rejected(api, owner, body):
    # DRF's CharField stored 0 as "0": a client's type error became data.
    response = api(owner).post("/api/tasks/", body, format="json")
    assert response.status_code == 400
    assert set(response.json()) <= {"title", "description"}
    assert not Task.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/tasks/%C2%84/", "/api/nope/", "/api/users/0/tasks/"])
def test_unknown_api_urls_are_json_404(api, owner, path):
    response = api(owner).get(path)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.django_db
def test_non_api_404_stays_html(client):
    response = client.get("/nope/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_schema_documents_errors_and_strict_bodies():
    paths = schema.raw_schema["paths"]
    bulk = paths["/api/tasks/bulk/"]["post"]
    assert {"400", "401", "403", "413", "415", "429", "503"} <= set(bulk["responses"])
    assert "404" in paths["/api/tasks/{id}/"]["get"]["responses"]
    token = paths["/api/auth/token/"]["post"]
    assert "429" in token["responses"] and "401" not in token["responses"]
    components = schema.raw_schema["components"]["schemas"]
    assert components["TaskWrite"]["additionalProperties"] is False
    tasks = components["TaskBulkCreate"]["properties"]["tasks"]
    assert (tasks["minItems"], tasks["maxItems"]) == (1, 1000)
