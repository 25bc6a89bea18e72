"""perfaudit.gate, continued: its errors say no data, and (hypothesis) no statement, however
random or deep, crashes it or the parse-tree code behind it."""

import contextlib

import pytest
from django.db import DatabaseError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pglast import parse_sql, parser

from perfaudit import gate, origin, sqltext
from perfaudit.rules import advisor as advisor_rules

pytestmark = pytest.mark.django_db


# --- errors ---------------------------------------------------------------------------------


def error_of(sql):
    with pytest.raises(DatabaseError) as caught, connection.cursor() as cursor:
        cursor.execute(sql)
    return caught.value


@pytest.mark.parametrize(
    ("sql", "shown"),
    [
        ("SELECT CAST('secret-value' AS int)", False),  # 22P02 quotes the value
        ("SELECT 1/0", False),  # 22012
        ("SELECT * FROM pa_missing_table", True),  # 42P01: names what was typed
        ("SELEC 1", True),  # 42601
    ],
)
def test_execution_errors_are_described_without_data(sql, shown):
    with transaction.atomic():
        exc = error_of(sql)
        transaction.set_rollback(True)
    text = gate.describe(exc)
    assert ("SQLSTATE" not in text) is shown
    if not shown:
        assert "secret-value" not in text
        assert text.startswith(f"SQLSTATE {gate.sqlstate_of(exc)} (")


# --- never a crash --------------------------------------------------------------------------

ATOMS = st.sampled_from(["1", "x", "'s'", "$1", "t.c", "NULL", "true", "now()", "*"])
OPERATORS = st.sampled_from(["+", "-", "*", "||", "=", "<", "AND", "OR", "IS", "::int", ","])


def _wrap(inner):
    return st.one_of(
        inner.map(lambda e: f"({e})"),
        inner.map(lambda e: f"lower({e})"),
        inner.map(lambda e: f"ARRAY[{e}]"),
        inner.map(lambda e: f"CASE WHEN {e} THEN {e} END"),
        inner.map(lambda e: f"NOT {e}"),
        inner.map(lambda e: f"(SELECT {e})"),
        inner.map(lambda e: f"{e}::text"),
        st.tuples(inner, OPERATORS, inner).map(" ".join),
    )


EXPRESSIONS = st.recursive(ATOMS, _wrap, max_leaves=60)


@st.composite
def deep(draw):
    """Something nested thousands of levels deep: a chain, brackets, or both."""
    n = draw(st.integers(min_value=1, max_value=40_000))
    kind = draw(st.sampled_from(["chain", "parens", "calls", "unions", "joins", "isnull"]))
    return {
        "chain": "SELECT " + "+".join(["1"] * n),
        "parens": "SELECT " + "(" * n + "1" + ")" * n,
        "calls": "SELECT " + "abs(" * n + "1" + ")" * n,
        "unions": " UNION ".join(["SELECT 1"] * min(n, 8_000)),
        "joins": "SELECT 1 FROM t" + " JOIN t ON true" * min(n, 4_000),
        "isnull": "SELECT 1" + " IS NULL" * min(n, 8_000),
    }[kind]


STATEMENTS = st.one_of(
    EXPRESSIONS.map(lambda e: f"SELECT {e}"),
    EXPRESSIONS.map(lambda e: f"SELECT * FROM django_content_type WHERE {e}"),
    deep(),
    st.text(alphabet="SELECT ()[]+-*/|:;'\"$,.0123456789abcxyzFROMWHEREUNION\n", max_size=400),
)


def _behind_the_gate(sql):
    """What perfaudit does with a statement the gate let through: walk its tree."""
    sqltext.referenced_tables(sql)
    advisor_rules.referenced_tables(sql)
    advisor_rules.analyze_statement(sql)
    origin.classify(sql)


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(STATEMENTS)
def test_no_statement_crashes_the_gate_or_the_parse_tree_code(sql):
    """Random and deeply nested statements: the gate refuses (Refused) or passes; what passes,
    the advisor's and origin's parse-tree code reads without a crash. A SIGSEGV would kill
    the test process, a RecursionError fail the test."""
    try:
        statement = gate.check_text(sql)
    except gate.Refused:
        return
    # The gate's pre-parse bound holds for what it let through.
    bound = gate.nesting_bound(parser.scan(sql))
    assert gate.tree_depth(statement) <= 2 * bound + 10
    with contextlib.suppress(advisor_rules.AdvisorInputError):
        _behind_the_gate(sql)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(EXPRESSIONS)
def test_the_nesting_bound_holds(expression):
    """The lexer's bound, times two plus ten, is never below the parse tree's real depth: the
    pre-parse check is safe for any statement up to the limit."""
    sql = f"SELECT {expression}"
    try:
        tree = parse_sql(sql)[0].stmt
    except parser.ParseError:
        return
    assert gate.tree_depth(tree) <= 2 * gate.nesting_bound(parser.scan(sql)) + 10
