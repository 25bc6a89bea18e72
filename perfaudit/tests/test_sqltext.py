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
