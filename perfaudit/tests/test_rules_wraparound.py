"""rules.wraparound pinned: severities at their boundaries for transaction and multixact IDs,
the message and evidence exactly, what holds VACUUM back (only holders past the freeze age,
three at most), other schemas, a young table before an old one (make mutate)."""

from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.rules import wraparound
from perfaudit.snapshots.wraparound import XID_STOP_AGE, TableAge, WraparoundSnapshot, XminHolder

CONF = PerfauditSettings()  # WRAPAROUND_WARNING_LEFT 1e9, WRAPAROUND_ERROR_LEFT 1e8
FREEZE = 200_000_000


def table(name="big", xid_age=0, mxid_age=0, *, schema="public", disabled=False):
    return TableAge(schema, name, xid_age, mxid_age, 8192, disabled)


def snap(*tables, holders=(), autovacuum=True):
    return WraparoundSnapshot("db", 0, 0, FREEZE, autovacuum, tuple(tables), tuple(holders))


def left(n):
    """The age that leaves ``n`` IDs before the stop."""
    return XID_STOP_AGE - n


def test_min_age_is_the_warning_threshold_as_an_age():
    assert wraparound.min_age(CONF) == XID_STOP_AGE - 1_000_000_000
    assert wraparound.min_age(PerfauditSettings(WRAPAROUND_WARNING_LEFT=3 * 10**9)) == 0


def test_a_warning_exactly():
    found = wraparound.evaluate(snap(table("big", left(999_999_999), 7)), CONF)
    message = (
        f"999,999,999 transaction IDs left before PostgreSQL stops accepting writes to avoid "
        f"wraparound (age {left(999_999_999):,}; anti-wraparound autovacuum starts at "
        "200,000,000). Why it is not frozen: no old snapshot holds VACUUM back right now: check "
        "that autovacuum workers are not always busy elsewhere (autovacuum_max_workers, cost "
        "limits)"
    )
    assert found == [
        Finding(
            kind="xid_wraparound",
            severity="warning",
            table="big",
            object="big",
            message=message,
            evidence={
                "xid_age": left(999_999_999),
                "mxid_age": 7,
                "xids_left": 999_999_999,
                "mxids_left": XID_STOP_AGE - 7,
                "autovacuum_freeze_max_age": FREEZE,
                "autovacuum_disabled": False,
                "size_bytes": 8192,
                "xmin_holders": [],
            },
            fix=Fix(
                sql="-- end what holds the oldest xmin (evidence.xmin_holders) first, then:\n"
                'VACUUM (FREEZE, VERBOSE) "big";'
            ),
        )
    ]


def test_boundaries_for_transaction_ids():
    assert wraparound.evaluate(snap(table(xid_age=left(1_000_000_000))), CONF) == []
    [w] = wraparound.evaluate(snap(table(xid_age=left(999_999_999))), CONF)
    assert w.severity == "warning"
    [w] = wraparound.evaluate(snap(table(xid_age=left(100_000_000))), CONF)
    assert w.severity == "warning"
    [e] = wraparound.evaluate(snap(table(xid_age=left(99_999_999))), CONF)
    assert e.severity == "error"


def test_multixact_ids_count_alike_and_name_themselves():
    [w] = wraparound.evaluate(snap(table(xid_age=5, mxid_age=left(500))), CONF)
    assert w.severity == "error"
    assert w.message.startswith("500 multixact IDs left before PostgreSQL stops")
    assert f"(age {left(500):,};" in w.message
    # The worse of the two decides the severity; equal counts are transaction IDs.
    [e] = wraparound.evaluate(snap(table(xid_age=left(10**8 - 1), mxid_age=left(5 * 10**8))), CONF)
    assert e.severity == "error" and e.message.startswith("99,999,999 transaction IDs left")
    [w] = wraparound.evaluate(snap(table(xid_age=left(5 * 10**8), mxid_age=left(10**8 - 1))), CONF)
    assert w.severity == "error" and w.message.startswith("99,999,999 multixact IDs left")
    [same] = wraparound.evaluate(snap(table(xid_age=left(400), mxid_age=left(400))), CONF)
    assert same.message.startswith("400 transaction IDs left")
    [warn] = wraparound.evaluate(snap(table(xid_age=3, mxid_age=left(5 * 10**8))), CONF)
    assert warn.severity == "warning"


def test_other_schemas_are_qualified():
    [f] = wraparound.evaluate(snap(table("log", left(10), schema="audit")), CONF)
    assert (f.table, f.object) == ("audit.log", "audit.log")
    assert f.fix.sql.endswith('VACUUM (FREEZE, VERBOSE) "audit"."log";')


def test_a_young_table_never_stops_the_loop():
    found = wraparound.evaluate(
        snap(table("a_young", 10), table("b_old", left(10)), table("c_young", 10)), CONF
    )
    assert [f.table for f in found] == ["b_old"]


def test_why_names_the_holders_past_the_freeze_age_three_at_most():
    holders = [
        XminHolder("backend", "1", FREEZE - 1, "idle"),  # younger than the freeze age
        XminHolder("backend", "2", FREEZE, " idle in transaction "),
        XminHolder("prepared", "gid", FREEZE + 1, "prepared"),
        XminHolder("replication_slot", "slot", FREEZE + 2, "logical"),
        XminHolder("backend", "5", FREEZE + 3, "active"),
    ]
    [f] = wraparound.evaluate(snap(table(xid_age=left(10)), holders=holders), CONF)
    why = f.message.split("Why it is not frozen: ")[1]
    assert why == (
        "backend 2 holds an xmin 200,000,000 transactions old (idle in transaction), and VACUUM "
        "cannot freeze past it; prepared gid holds an xmin 200,000,001 transactions old "
        "(prepared), and VACUUM cannot freeze past it; replication_slot slot holds an xmin "
        "200,000,002 transactions old (logical), and VACUUM cannot freeze past it"
    )
    assert f.evidence["xmin_holders"][0] == {
        "kind": "backend",
        "name": "1",
        "xmin_age": FREEZE - 1,
        "detail": "idle",
    }
    assert len(f.evidence["xmin_holders"]) == 5


def test_why_says_when_autovacuum_is_off_or_disabled_on_the_table():
    [off] = wraparound.evaluate(snap(table(xid_age=left(10)), autovacuum=False), CONF)
    assert off.message.endswith("Why it is not frozen: autovacuum is off for the whole server")
    [disabled] = wraparound.evaluate(snap(table(xid_age=left(10), disabled=True)), CONF)
    assert disabled.message.endswith(
        "Why it is not frozen: autovacuum_enabled=false on this table (anti-wraparound vacuums "
        "still run, but only once autovacuum_freeze_max_age is passed)"
    )
    assert disabled.evidence["autovacuum_disabled"] is True
    # Server-wide off wins over the table's own switch (said once).
    [both] = wraparound.evaluate(
        snap(table(xid_age=left(10), disabled=True), autovacuum=False), CONF
    )
    assert both.message.endswith("Why it is not frozen: autovacuum is off for the whole server")
