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
