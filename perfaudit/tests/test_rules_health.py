"""Rules for PgHero's cheap checks, without a database: constraints, sequences, wraparound,
blocked queries."""

from perfaudit.conf import PerfauditSettings
from perfaudit.rules import constraints, locks, sequences, wraparound
from perfaudit.snapshots.constraints import ConstraintsSnapshot, NotValidConstraint
from perfaudit.snapshots.declared import ModelRef
from perfaudit.snapshots.locks import BlockedQuery, LocksSnapshot, Session
from perfaudit.snapshots.sequences import SequenceInfo, SequencesSnapshot
from perfaudit.snapshots.wraparound import XID_STOP_AGE, TableAge, WraparoundSnapshot, XminHolder

CONF = PerfauditSettings()
BIGINT_MAX = 9223372036854775807


# --- NOT VALID constraints --------------------------------------------------------------------


def test_not_valid_check_has_validate_fix_and_the_violations_query():
    c = NotValidConstraint(
        "public",
        "shop_item",
        "qty_positive",
        "c",
        "CHECK ((qty > 0)) NOT VALID",
        ("qty",),
        None,
        (),
        "(qty > 0)",
    )
    [f] = constraints.evaluate(
        ConstraintsSnapshot((c,), models={"shop_item": ModelRef("shop", "item")}), CONF
    )
    assert (f.kind, f.severity, f.table, f.object) == (
        "not_valid_constraint",
        "warning",
        "shop_item",
        "qty_positive",
    )
    assert f.evidence["violations_query"] == 'SELECT * FROM "shop_item" WHERE NOT ((qty > 0));'
    assert f.fix.sql.endswith('ALTER TABLE "shop_item" VALIDATE CONSTRAINT "qty_positive";')
    assert f.fix.migration == "ValidateConstraint(model_name='item', name='qty_positive')"
    assert f.fix.app_label == "shop"


def test_not_valid_fk_violations_query_ignores_null_keys():
    c = NotValidConstraint(
        "public",
        "shop_item",
        "item_owner_fk",
        "f",
        "FOREIGN KEY (owner_id) ...",
        ("owner_id",),
        "auth_user",
        ("id",),
    )
    [f] = constraints.evaluate(ConstraintsSnapshot((c,)), CONF)
    assert f.evidence["violations_query"] == (
        'SELECT t.* FROM "shop_item" t WHERE t."owner_id" IS NOT NULL AND NOT EXISTS '
        '(SELECT 1 FROM "auth_user" p WHERE p."id" = t."owner_id");'
    )
    assert f.fix.migration is None  # no model: no migration to put it in


# --- sequences --------------------------------------------------------------------------------


def seq(last, *, column_type="bigint", max_value=BIGINT_MAX, cycle=False, data_type="bigint"):
    return SequenceInfo(
        "public", "t_id_seq", data_type, 1, 1, max_value, cycle, last, "t", "id", column_type
    )


def test_integer_column_fed_by_bigint_sequence_is_judged_by_the_column():
    # Django's AutoField: identity (bigint sequence) on an integer column.
    [f] = sequences.evaluate(SequencesSnapshot((seq(2_000_000_000, column_type="integer"),)), CONF)
    assert f.kind == "sequence_near_max" and f.severity == "error"
    assert f.evidence["limit"] == 2147483647
    assert "integer out of range" in f.message
    assert 'ALTER TABLE "t" ALTER COLUMN "id" TYPE bigint' in f.fix.sql


def test_sequence_thresholds():
    warn = int(0.8 * 2147483647)
    [f] = sequences.evaluate(SequencesSnapshot((seq(warn, column_type="integer"),)), CONF)
    assert f.severity == "warning"
    assert sequences.evaluate(SequencesSnapshot((seq(1000, column_type="integer"),)), CONF) == []
    # Never used (or unreadable): no last value, nothing to judge.
    assert sequences.evaluate(SequencesSnapshot((seq(None),)), CONF) == []


def test_sequence_own_maxvalue_and_cycle():
    [f] = sequences.evaluate(
        SequencesSnapshot((seq(95, max_value=100, data_type="integer", cycle=True),)), CONF
    )
    assert f.severity == "error" and "CYCLE" in f.message
    assert f.fix.sql == f'ALTER SEQUENCE "t_id_seq" AS bigint MAXVALUE {BIGINT_MAX};'


# --- wraparound -------------------------------------------------------------------------------


def wrap(age, *, holders=(), autovacuum=True, disabled=False):
    return WraparoundSnapshot(
        "db",
        age,
        0,
        200_000_000,
        autovacuum,
        (TableAge("public", "big", age, 0, 10**9, disabled),),
        tuple(holders),
    )


def test_wraparound_thresholds():
    assert wraparound.evaluate(wrap(300_000_000), CONF) == []
    [w] = wraparound.evaluate(wrap(XID_STOP_AGE - 500_000_000), CONF)
    assert w.kind == "xid_wraparound" and w.severity == "warning"
    assert w.evidence["xids_left"] == 500_000_000
    [e] = wraparound.evaluate(wrap(XID_STOP_AGE - 1_000_000), CONF)
    assert e.severity == "error" and 'VACUUM (FREEZE, VERBOSE) "big";' in e.fix.sql


def test_wraparound_names_what_holds_vacuum_back():
    holder = XminHolder("backend", "4242", 1_500_000_000, "idle in transaction for 30 days")
    [f] = wraparound.evaluate(wrap(XID_STOP_AGE - 500_000_000, holders=[holder]), CONF)
    assert "backend 4242 holds an xmin 1,500,000,000 transactions old" in f.message
    [off] = wraparound.evaluate(wrap(XID_STOP_AGE - 500_000_000, autovacuum=False), CONF)
    assert "autovacuum is off" in off.message


def test_wraparound_min_age_follows_the_warning_threshold():
    assert wraparound.min_age(CONF) == XID_STOP_AGE - CONF.WRAPAROUND_WARNING_LEFT


# --- blocked queries --------------------------------------------------------------------------


def session(pid, state="active", query="UPDATE t SET x = 1 WHERE id = 1", seconds=12.0):
    return Session(pid, "app", "gunicorn", state, query, seconds, seconds)


def test_blocked_query_names_blocker_and_statement():
    snapshot = LocksSnapshot(
        (
            BlockedQuery(
                session(20),
                "Lock",
                "transactionid",
                "transactionid",
                "ShareLock",
                (session(10, state="idle in transaction", query="SELECT 1"),),
            ),
        )
    )
    [f] = locks.evaluate(snapshot, CONF)
    assert (f.kind, f.severity, f.object) == ("blocked_query", "warning", "pid 20")
    assert "blocked by pid 10 (gunicorn, idle in transaction" in f.message
    assert "UPDATE t SET x = 1 WHERE id = 1" in f.message
    assert f.evidence["root_blockers"] == [10]
    # Idle in a transaction: cancelling does nothing, only terminating releases the locks.
    assert f.fix.sql.startswith("SELECT pg_terminate_backend(10);")


def test_blocked_chain_points_at_the_root_blocker():
    # 30 waits for 20, which waits for 10: ending 10 frees both.
    snapshot = LocksSnapshot(
        (
            BlockedQuery(session(20), "Lock", "tuple", "t", "ExclusiveLock", (session(10),)),
            BlockedQuery(
                session(30, seconds=1.0),
                "Lock",
                "tuple",
                "t",
                "ExclusiveLock",
                (session(20), session(10)),
            ),
        )
    )
    _first, second = locks.evaluate(snapshot, CONF)
    assert second.evidence["root_blockers"] == [10]
    assert second.fix.sql.startswith("SELECT pg_cancel_backend(10);")
    assert second.severity == "info"  # 1 s < BLOCKED_WARNING_SECONDS


def test_autovacuum_off_for_the_server_is_its_own_finding():
    assert wraparound.autovacuum_off(wrap(300_000_000)) == []
    [off] = wraparound.autovacuum_off(wrap(300_000_000, autovacuum=False))
    assert (off.kind, off.severity, off.table, off.object) == (
        "autovacuum_off",
        "warning",
        None,
        "autovacuum",
    )
    assert off.message == (
        "autovacuum is off for the whole server: no table is vacuumed or analyzed unless "
        "someone does it by hand, dead rows pile up and the planner works from stale "
        "estimates; only anti-wraparound vacuums still start, past autovacuum_freeze_max_age "
        "(200,000,000 transactions)"
    )
    assert off.evidence == {"autovacuum": False, "autovacuum_freeze_max_age": 200_000_000}
    assert off.fix.sql == (
        "ALTER SYSTEM SET autovacuum = on;\nSELECT pg_reload_conf();\n"
        "-- or set autovacuum = on in postgresql.conf (a superuser's change)"
    )
    # Not a table finding: tables near the stop are still judged on their own.
    assert wraparound.evaluate(wrap(300_000_000, autovacuum=False), CONF) == []
