"""rules.sequences pinned: the ratio thresholds at their boundaries, each outcome and fix
exactly (a narrow column, a serial's sequence vs an identity, the sequence's own MAXVALUE,
CYCLE, a descending or bigint-wide sequence), other schemas, an unused sequence before a full
one (make mutate)."""

from perfaudit.conf import PerfauditSettings
from perfaudit.findings import Finding, Fix
from perfaudit.rules import sequences
from perfaudit.snapshots.sequences import TYPE_MAX, SequenceInfo, SequencesSnapshot

CONF = PerfauditSettings()  # SEQUENCE_WARNING_RATIO 0.75, SEQUENCE_ERROR_RATIO 0.9
INT_MAX, BIGINT_MAX = TYPE_MAX["integer"], TYPE_MAX["bigint"]
WIDEN_NOTE = (
    "\n-- rewrites the table under an ACCESS EXCLUSIVE lock: schedule it, or add a bigint "
    "column, backfill it in batches and swap; widen the referencing FK columns too"
)


def seq(last, *, name="t_id_seq", max_value=BIGINT_MAX, column_type="integer", **kw):
    values = {
        "schema": "public",
        "name": name,
        "data_type": "bigint",
        "increment": 1,
        "min_value": 1,
        "max_value": max_value,
        "cycle": False,
        "last_value": last,
        "table": "t",
        "column": "id",
        "column_type": column_type,
        "identity": False,
    }
    return SequenceInfo(**(values | kw))


def judge(*items, conf=CONF):
    return sequences.evaluate(SequencesSnapshot(tuple(items)), conf)


def test_a_serial_integer_column_exactly():
    last = 2_000_000_000  # 93.1 % of 2,147,483,647
    [f] = judge(seq(last))
    assert f == Finding(
        kind="sequence_near_max",
        severity="error",
        table="t",
        object="t_id_seq",
        message="sequence t_id_seq feeding t.id (integer) has used 93.1% of its range "
        "(147,483,647 values left); the column's type stops at 2,147,483,647: inserts will "
        "fail with 'integer out of range'",
        evidence={
            "last_value": last,
            "limit": INT_MAX,
            "sequence_max": BIGINT_MAX,
            "sequence_type": "bigint",
            "column_type": "integer",
            "identity": False,
            "used_ratio": 0.9313,
            "values_left": 147_483_647,
        },
        fix=Fix(
            sql='ALTER TABLE "t" ALTER COLUMN "id" TYPE bigint;\n'
            'ALTER SEQUENCE "t_id_seq" AS bigint;' + WIDEN_NOTE
        ),
    )


def test_an_identity_column_widens_with_its_sequence():
    [f] = judge(seq(2_000_000_000, identity=True))
    assert f.fix.sql == 'ALTER TABLE "t" ALTER COLUMN "id" TYPE bigint;' + WIDEN_NOTE
    assert f.evidence["identity"] is True


def test_other_schemas_are_qualified():
    [f] = judge(seq(2_000_000_000, schema="billing", name="inv_id_seq", table="inv"))
    assert f.fix.sql.startswith(
        'ALTER TABLE "billing"."inv" ALTER COLUMN "id" TYPE bigint;\n'
        'ALTER SEQUENCE "billing"."inv_id_seq" AS bigint;'
    )


def test_ratio_boundaries():
    # A range of 1,000 values (1..1001): 75 % and 90 % of it exactly, and their neighbours.
    def at(last, conf=CONF):
        found = judge(seq(last, max_value=1001, column_type="bigint"), conf=conf)
        return [f.severity for f in found]

    assert at(750) == []
    assert at(751) == ["warning"]
    assert at(900) == ["warning"]
    assert at(901) == ["error"]
    conf = PerfauditSettings(SEQUENCE_WARNING_RATIO=0.5, SEQUENCE_ERROR_RATIO=0.6)
    assert (at(500, conf), at(501, conf), at(600, conf), at(601, conf)) == (
        [],
        ["warning"],
        ["warning"],
        ["error"],
    )


def test_an_unused_sequence_never_stops_the_loop():
    found = judge(seq(None, name="a_seq"), seq(5, name="b_seq"), seq(2_100_000_000, name="c_seq"))
    assert [f.object for f in found] == ["c_seq"]


def test_the_sequence_own_maxvalue_on_a_bigint_column():
    [f] = judge(seq(950, max_value=1_000, column_type="bigint", data_type="integer"))
    assert f.severity == "error"
    assert f.message == (
        "sequence t_id_seq feeding t.id (bigint) has used 95.0% of its range (50 values "
        "left); then nextval() fails and inserts stop"
    )
    assert f.fix == Fix(sql=f'ALTER SEQUENCE "t_id_seq" AS bigint MAXVALUE {BIGINT_MAX};')


def test_a_column_that_stops_with_the_sequence_is_the_column():
    # A sequence whose MAXVALUE is the integer maximum: the column's type stops it too.
    [f] = judge(seq(2_100_000_000, max_value=INT_MAX, data_type="integer"))
    assert "the column's type stops at 2,147,483,647" in f.message


def test_cycle_wraps_into_duplicate_keys():
    [f] = judge(seq(990, max_value=1_000, column_type="bigint", cycle=True))
    assert f.message.endswith("then it CYCLEs back to its minimum and inserts hit duplicate keys")


def test_a_bigint_sequence_at_its_end_asks_for_new_keys():
    [f] = judge(seq(BIGINT_MAX - 10, column_type="bigint"))
    assert f.fix == Fix(
        sql="-- the sequence's whole range is nearly used: plan new keys (e.g. UUIDs)"
    )


def test_a_sequence_feeding_no_column():
    [f] = judge(seq(990, max_value=1_000, table=None, column=None, column_type=None))
    assert f.message.startswith("sequence t_id_seq has used 99.0% of its range (10 values")
    assert f.table is None
    assert f.fix.sql == f'ALTER SEQUENCE "t_id_seq" AS bigint MAXVALUE {BIGINT_MAX};'


def test_a_descending_sequence_is_never_widened_upwards():
    item = seq(-990, increment=-1, min_value=-1_000, max_value=-1, column_type="integer", table="t")
    [f] = judge(item)
    assert f.severity == "error"
    assert f.fix == Fix(
        sql="-- the sequence's whole range is nearly used: plan new keys (e.g. UUIDs)"
    )
    assert "then nextval() fails and inserts stop" in f.message


def test_a_smallint_column():
    [f] = judge(seq(32_000, column_type="smallint", data_type="smallint", max_value=32767))
    assert f.fix.sql.startswith('ALTER TABLE "t" ALTER COLUMN "id" TYPE bigint;')
    assert "'smallint out of range'" in f.message


def test_maxvalue_fix_in_another_schema():
    [f] = judge(seq(950, max_value=1_000, column_type="bigint", schema="billing"))
    assert f.fix.sql == f'ALTER SEQUENCE "billing"."t_id_seq" AS bigint MAXVALUE {BIGINT_MAX};'
