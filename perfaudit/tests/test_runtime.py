"""Runtime detectors through the real middleware stack (settings.MIDDLEWARE) and database."""

import logging

import pytest

from perfaudit.runtime import RepeatedQueriesError

pytestmark = [pytest.mark.django_db, pytest.mark.urls("perfaudit.tests.urls")]


@pytest.fixture
def perfaudit_conf(settings):
    def set_conf(**values):
        settings.PERFAUDIT = {**settings.PERFAUDIT, **values}

    return set_conf


def test_server_timing_header_counts_queries(client):
    response = client.get("/repeated/")
    header = response["Server-Timing"]
    assert header.startswith("db;dur=")
    assert 'desc="6 queries"' in header


def test_server_timing_can_be_turned_off(client, perfaudit_conf):
    perfaudit_conf(SERVER_TIMING=False)
    assert "Server-Timing" not in client.get("/repeated/")


def test_slow_query_log_names_path_and_caller(client, perfaudit_conf, caplog):
    # pg_sleep(0.01) always takes >= 10 ms, so a 5 ms threshold is deterministic.
    perfaudit_conf(SLOW_QUERY_MS=5)
    with caplog.at_level(logging.WARNING, logger="perfaudit.slow_queries"):
        client.get("/sleepy/")
    (record,) = [r for r in caplog.records if r.name == "perfaudit.slow_queries"]
    assert record.path == "/sleepy/"
    assert "perfaudit/tests/urls.py" in record.caller and "sleepy" in record.caller
    assert "pg_sleep" in record.sql


def test_slow_query_log_off(client, perfaudit_conf, caplog):
    perfaudit_conf(SLOW_QUERY_MS=0)
    with caplog.at_level(logging.WARNING, logger="perfaudit.slow_queries"):
        client.get("/sleepy/")
    assert not [r for r in caplog.records if r.name == "perfaudit.slow_queries"]


def test_repeated_queries_logged(client, perfaudit_conf, caplog):
    perfaudit_conf(REPEATED_QUERY_MODE="log", REPEATED_QUERY_THRESHOLD=5)
    with caplog.at_level(logging.WARNING, logger="perfaudit.repeated_queries"):
        client.get("/repeated/")
    (record,) = [r for r in caplog.records if r.name == "perfaudit.repeated_queries"]
    assert record.path == "/repeated/"
    assert "urls.py" in record.caller


def test_repeated_raw_sql_raises(client, perfaudit_conf):
    perfaudit_conf(REPEATED_QUERY_MODE="raise", REPEATED_QUERY_THRESHOLD=5)
    with pytest.raises(RepeatedQueriesError, match="5 identical queries on /repeated-raw/"):
        client.get("/repeated-raw/")


def test_below_threshold_is_quiet(client, perfaudit_conf):
    perfaudit_conf(REPEATED_QUERY_MODE="raise", REPEATED_QUERY_THRESHOLD=10)
    assert client.get("/repeated/").status_code == 200


# --- under ASGI: statements reported by native async code (recording.record_statement) ---------


def _async_middleware(statements):
    """PerfauditMiddleware around an async "view" that reports ``statements`` as a native
    driver would: no Django cursor, no thread."""
    from django.http import HttpResponse

    from perfaudit.recording import record_statement
    from perfaudit.runtime import PerfauditMiddleware

    async def view(request):
        for sql, ms in statements:
            record_statement(sql, [1], alias="default", duration_ms=ms)
        return HttpResponse("ok")

    return PerfauditMiddleware(view)


def _call(middleware, path="/native/"):
    from asgiref.sync import async_to_sync
    from django.test import RequestFactory

    return async_to_sync(middleware)(RequestFactory().get(path))


def test_async_server_timing_counts_reported_statements():
    response = _call(_async_middleware([("SELECT 1 FROM a WHERE id = %s", 2.5)] * 2))
    assert response["Server-Timing"] == 'db;dur=5.0;desc="2 queries"'


def test_async_slow_and_repeated_statements_are_reported(perfaudit_conf, caplog):
    perfaudit_conf(SLOW_QUERY_MS=10.0, REPEATED_QUERY_MODE="log", REPEATED_QUERY_THRESHOLD=3)
    middleware = _async_middleware(
        [("SELECT * FROM slow WHERE id = %s", 25.0)] + [("SELECT * FROM t WHERE id = %s", 1.0)] * 3
    )
    with caplog.at_level(logging.WARNING):
        _call(middleware, "/native/slow/")
    slow = [r for r in caplog.records if r.name == "perfaudit.slow_queries"]
    assert len(slow) == 1 and slow[0].path == "/native/slow/" and "FROM slow" in slow[0].sql
    repeated = [r for r in caplog.records if r.name == "perfaudit.repeated_queries"]
    assert len(repeated) == 1 and "FROM t" in repeated[0].sql


def test_reported_statements_outside_a_recorder_go_nowhere():
    from perfaudit.recording import QueryRecorder, record_statement

    record_statement("SELECT 1", None, alias="default", duration_ms=1.0)  # no recorder: no-op
    recorder = QueryRecorder()
    with recorder.active():
        record_statement("SELECT 2", None, alias="default", duration_ms=1.0)
    record_statement("SELECT 3", None, alias="default", duration_ms=1.0)
    assert [q.sql for q in recorder.queries] == ["SELECT 2"]
