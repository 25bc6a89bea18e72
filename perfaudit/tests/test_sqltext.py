from perfaudit import sqltext


def test_statements_ignore_semicolons_in_literals_and_comments():
    assert len(sqltext.statements("SELECT ';' -- ;\n, $$;$$, \"a;b\" /* ; */")) == 1
    assert len(sqltext.statements("SELECT 1; SELECT 2")) == 2
    assert len(sqltext.statements("SELECT 1;  ")) == 1


def test_first_keyword_and_params():
    assert sqltext.first_keyword("  /* hi */ (select 1)") == "SELECT"
    assert sqltext.first_keyword("with x as (select 1) delete from t") == "WITH"
    assert sqltext.has_positional_params("SELECT * FROM t WHERE id = $1")
    assert not sqltext.has_positional_params("SELECT '$1'")


def test_fingerprint_collapses_literals():
    a = sqltext.fingerprint("SELECT * FROM t WHERE id = 1 AND name = 'x'")
    b = sqltext.fingerprint("SELECT  * FROM t WHERE id = 22 AND name = 'it''s'")
    assert a == b
    assert sqltext.fingerprint("SELECT * FROM t WHERE id IN (1, 2, 3)") == sqltext.fingerprint(
        "select * from t where id in (4)"
    )


def test_statements_read_quotes_as_postgresql_does():
    # E'' escapes, dollar quotes and an identifier containing $x$ (not a dollar quote).
    assert len(sqltext.statements(r"SELECT E'\';'; SELECT 2")) == 2
    assert len(sqltext.statements("SELECT $t$;$t$, 1")) == 1
    assert len(sqltext.statements("SELECT a$x$ FROM t; DELETE FROM t")) == 2
    # Lexically broken SQL is one statement: the server reports the error itself.
    assert sqltext.statements("SELECT 'unterminated") == ["SELECT 'unterminated"]


def test_fingerprints_are_postgresqls_parse_tree():
    same = [
        "SELECT * FROM t WHERE id IN (1, 2, 3) AND name = 'x'",
        "select *\n  from t where id in (4,5) and name = 'other'",
        "SELECT * FROM t WHERE id IN (%s, %s) AND name = %s",  # Django's placeholders
    ]
    assert len({sqltext.fingerprint(sql) for sql in same}) == 1
    assert sqltext.fingerprint("SELECT * FROM t WHERE id = 1") != sqltext.fingerprint(
        "SELECT * FROM u WHERE id = 1"
    )
    assert sqltext.fingerprint("SELECT * FROM t WHERE a LIKE 'x%%'") == sqltext.fingerprint(
        "SELECT * FROM t WHERE a LIKE %s"
    )


def test_without_literals_keeps_the_shape_and_drops_every_value():
    sql = (
        "UPDATE django_session SET session_data = 'abc', n = 5.5 WHERE session_key = 'k123' "
        "AND y = E'\\x' AND z = $$dollar$$ AND b = B'101' AND h = X'ff' AND p = $1 /* tag */"
    )
    assert sqltext.without_literals(sql) == (
        "UPDATE django_session SET session_data = ?, n = ? WHERE session_key = ? "
        "AND y = ? AND z = ? AND b = ? AND h = ? AND p = $1 /* tag */"
    )
    # Cut inside a quote (pg_stat_activity keeps the first characters): masked by pattern.
    assert sqltext.without_literals("SELECT 1 FROM t2 WHERE k = 'secr") == (
        "SELECT ? FROM t2 WHERE k = ?"
    )
    assert sqltext.without_literals("SELECT $tag$ secret") == "SELECT ?"
