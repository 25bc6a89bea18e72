"""Replication and pooler rules on hand-built snapshots: no database."""

from perfaudit.conf import PerfauditSettings
from perfaudit.rules import pooler, replication
from perfaudit.snapshots.pooler import ClientSetup, PoolerSnapshot
from perfaudit.snapshots.replication import ReplicationSnapshot, Standby, WalReceiver

CONF = PerfauditSettings(REPLICATION_LAG_WARNING_SECONDS=10, REPLICATION_LAG_WARNING_BYTES=1000)


def standby(**kw):
    values = {
        "application_name": "walreceiver",
        "client_addr": None,
        "state": "streaming",
        "sync_state": "async",
        "sent_lsn": "0/10",
        "replay_lsn": "0/10",
        "lag_bytes": 0,
        "write_lag_seconds": None,
        "flush_lag_seconds": None,
        "replay_lag_seconds": None,
        "reply_age_seconds": 0.1,
    }
    return Standby(**{**values, **kw})


def receiver(**kw):
    values = {
        "status": "streaming",
        "sender_host": "10.0.0.1",
        "sender_port": 5432,
        "receive_lsn": "0/20",
        "replay_lsn": "0/20",
        "lag_bytes": 0,
        "replay_age_seconds": 3600.0,
        "last_message_age_seconds": 0.5,
        "replay_paused": False,
    }
    return WalReceiver(**{**values, **kw})


def kinds(findings):
    return sorted(f.kind for f in findings)


def test_healthy_primary_and_standby_have_no_findings():
    snaps = [
        ReplicationSnapshot("default", "primary", "0/10", [standby()]),
        # An idle standby: its last replayed commit is an hour old, but nothing waits.
        ReplicationSnapshot("replica_1", "standby", receiver=receiver()),
    ]
    assert replication.evaluate(snaps, CONF, expected_standbys=1) == []


def test_lag_by_time_or_bytes_and_states():
    snaps = [
        ReplicationSnapshot(
            "default",
            "primary",
            "0/10",
            [
                standby(application_name="slow", replay_lag_seconds=11.0),
                standby(application_name="far", lag_bytes=5000),
                standby(application_name="catching", state="catchup"),
            ],
        )
    ]
    findings = replication.evaluate(snaps, CONF)
    assert kinds(findings) == ["replication_lag", "replication_lag", "standby_not_streaming"]
    assert {f.object for f in findings if f.kind == "replication_lag"} == {"slow", "far"}


def test_standby_side_lag_counts_only_with_wal_waiting():
    behind = receiver(lag_bytes=2000, replay_age_seconds=20.0)
    findings = replication.evaluate([ReplicationSnapshot("r", "standby", receiver=behind)], CONF)
    assert kinds(findings) == ["replication_lag"]


def test_broken_receiver_paused_replay_unreachable_missing_and_hidden():
    snaps = [
        ReplicationSnapshot("default", "primary", "0/10", [standby()], visible=False),
        ReplicationSnapshot("r1", "standby", receiver=receiver(status=None, replay_paused=True)),
        ReplicationSnapshot("r2", "unreachable", error="connection refused"),
    ]
    findings = replication.evaluate(snaps, CONF, expected_standbys=2)
    assert kinds(findings) == [
        "missing_standby",
        "replay_paused",
        "replica_unreachable",
        "replication_not_visible",
        "standby_not_receiving",
    ]
    paused = next(f for f in findings if f.kind == "replay_paused")
    assert paused.fix.sql == "SELECT pg_wal_replay_resume();"


def client(**kw):
    values = {
        "transaction_pooler": True,
        "startup_options": None,
        "server_side_cursors_disabled": True,
        "server_side_binding": False,
        "django_pool": False,
    }
    return ClientSetup(**{**values, **kw})


def test_pooler_mode_done_right_has_no_findings():
    snap = PoolerSnapshot(
        client=client(),
        admin_configured=True,
        pools=[{"database": "db", "user": "app", "cl_waiting": 0, "pool_mode": "transaction"}],
    )
    assert pooler.evaluate(snap, CONF, alias="default") == []


def test_what_breaks_behind_a_transaction_pooler():
    snap = PoolerSnapshot(
        client=client(
            startup_options="-c statement_timeout=10000",
            server_side_cursors_disabled=False,
            server_side_binding=True,
            django_pool=True,
        )
    )
    findings = pooler.evaluate(snap, CONF, alias="default")
    assert kinds(findings) == [
        "double_pooling",
        "pooler_prepared_statements",
        "pooler_server_side_cursors",
        "pooler_startup_options",
    ]
    assert all(f.severity == "error" for f in findings)
    # Without pooler mode the same client setup is fine (direct connections).
    direct = PoolerSnapshot(client=client(transaction_pooler=False, startup_options="-c x=1"))
    assert pooler.evaluate(direct, CONF, alias="default") == []


def test_waiting_clients_session_mode_and_unreachable_console():
    snap = PoolerSnapshot(
        client=client(),
        admin_configured=True,
        admin_error=None,
        pools=[
            {"database": "db", "user": "app", "cl_waiting": 3, "maxwait": 2, "pool_mode": "session"}
        ],
    )
    assert kinds(pooler.evaluate(snap, CONF, alias="default")) == [
        "pooler_clients_waiting",
        "pooler_mode",
    ]
    down = PoolerSnapshot(client=client(), admin_configured=True, admin_error="refused")
    assert kinds(pooler.evaluate(down, CONF, alias="default")) == ["pooler_admin_unreachable"]


def test_pool_size_from_the_console():
    snap = PoolerSnapshot(
        client=client(),
        databases=[{"name": "app", "pool_size": 20, "max_connections": 5}],
        config={"default_pool_size": "30"},
    )
    assert snap.pool_size_for("app") == 5  # max_db_connections caps the pool
    assert snap.pool_size_for("other") == 30  # the wildcard's default_pool_size
    assert PoolerSnapshot(client=client()).pool_size_for("app") is None


def test_arithmetic_direct_pooler_and_replicas():
    direct = pooler.arithmetic(
        app_processes=8,
        connections_per_process=4,
        available_to_apps=97,
        transaction_pooler=False,
        pooler_pool_size=None,
        pooler_max_client_conn=None,
        replicas={"replica_1": 20},
    )
    assert direct["server_demand"] == 32 and direct["primary_headroom"] == 65
    assert direct["replicas"] == [
        {"alias": "replica_1", "demand": 32, "available_to_apps": 20, "headroom": -12}
    ]
    assert kinds(pooler.arithmetic_findings(direct, alias="default")) == ["too_many_connections"]

    pooled = pooler.arithmetic(
        app_processes=8,
        connections_per_process=4,
        available_to_apps=97,
        transaction_pooler=True,
        pooler_pool_size=10,
        pooler_max_client_conn=20,
        replicas={},
    )
    # The server sees the pool; the 32 client connections land on the pooler.
    assert pooled["server_demand"] == 10 and pooled["primary_headroom"] == 87
    assert pooled["client_headroom"] == -12
    assert kinds(pooler.arithmetic_findings(pooled, alias="default")) == ["too_many_pooler_clients"]
