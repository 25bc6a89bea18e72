"""Lexical checks on SQL given on the command line: count statements, find the first keyword.

A small scanner that knows quotes, dollar quotes and comments, so a ';' inside a string literal
is not mistaken for a statement separator. It never rewrites the SQL.
"""

from __future__ import annotations

import re

_DOLLAR = re.compile(r"\$([A-Za-z_][A-Za-z_0-9]*)?\$")
_PARAM = re.compile(r"\$\d+")


def _ident_before(sql: str, i: int) -> bool:
    """Whether sql[i] continues an identifier or number (letters, digits, _ and $)."""
    return i > 0 and (sql[i - 1].isalnum() or sql[i - 1] in "_$")


def _code_spans(sql: str) -> list[str]:
    """The SQL with string literals, quoted identifiers and comments replaced by spaces."""
    out, i, n = [], 0, len(sql)
    while i < n:
        ch = sql[i]
        if ch == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end
            out.append(" ")
        elif ch == "/" and sql.startswith("/*", i):
            end = sql.find("*/", i + 2)
            i = n if end < 0 else end + 2
            out.append(" ")
        elif ch in ("'", '"'):
            # E'...' strings take backslash escapes (E'\'' is one quote): without this, the
            # scanner would think the literal runs on and hide the statements after it.
            escapes = ch == "'" and i > 0 and sql[i - 1] in "eE" and not _ident_before(sql, i - 1)
            j = i + 1
            while j < n:
                if escapes and sql[j] == "\\":
                    j += 2
                    continue
                if sql[j] == ch:
                    if j + 1 < n and sql[j + 1] == ch:  # doubled quote escapes itself
                        j += 2
                        continue
                    break
                j += 1
            i = j + 1
            out.append(" ")
        elif ch == "$" and not _ident_before(sql, i) and (m := _DOLLAR.match(sql, i)):
            # Only where PostgreSQL starts a dollar quote: "a$x$" is an identifier there, and
            # reading it as a quote would hide the statements up to the next "$x$".
            end = sql.find(m.group(0), m.end())
            i = n if end < 0 else end + len(m.group(0))
            out.append(" ")
        else:
            out.append(ch)
            i += 1
    return "".join(out)


def statements(sql: str) -> list[str]:
    """Non-empty statement skeletons (literals blanked) separated by top-level semicolons."""
    return [part for part in _code_spans(sql).split(";") if part.strip()]


def first_keyword(sql: str) -> str:
    code = _code_spans(sql).strip().lstrip("(").strip()
    match = re.match(r"[A-Za-z]+", code)
    return match.group(0).upper() if match else ""


def has_positional_params(sql: str) -> bool:
    """``$1``-style placeholders outside literals (pg_stat_statements' normalized text)."""
    return bool(_PARAM.search(_code_spans(sql)))


def fingerprint(sql: str) -> str:
    """Literal values collapsed, so the same query with other values compares equal."""
    text = re.sub(r"'(?:[^']|'')*'", "?", sql)
    text = re.sub(r"\b\d+(?:\.\d+)?\b", "?", text)
    text = re.sub(r"\(\s*(?:\?|%s)(?:\s*,\s*(?:\?|%s))*\s*\)", "(...)", text)
    return re.sub(r"\s+", " ", text).strip()
