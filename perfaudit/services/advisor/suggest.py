"""One verified (or unverified) candidate -> a Suggestion and its missing_index finding."""

from __future__ import annotations

from perfaudit.findings import Finding, Fix
from perfaudit.rules import advisor as rules
from perfaudit.services.advisor.migration import index_name, migration_for
from perfaudit.services.advisor.report import Suggestion


def _suggestion(cand, table, model, ext, *, statements, verified_by, size) -> Suggestion:
    name = index_name(cand, model)
    sql = cand.create_sql(name) + ";"
    needs = None
    if any(k.opclass == "gin_trgm_ops" for k in cand.keys) and not ext.pg_trgm_installed:
        needs = "pg_trgm"
        sql = "CREATE EXTENSION IF NOT EXISTS pg_trgm;\n" + sql
    costs_before = [s["cost_before"] for s in statements if s["cost_before"] is not None]
    costs_after = [s["cost_after"] for s in statements if s["cost_after"] is not None]
    return Suggestion(
        table=cand.table,
        columns=[("-" if k.descending else "") + k.text for k in cand.keys],
        using=cand.using,
        where=cand.where_sql,
        expression=cand.expression,
        name=name,
        cost_before=sum(costs_before) if costs_before else None,
        cost_after=sum(costs_after) if verified_by and costs_after else None,
        statements=statements,
        write_cost=rules.write_cost(cand, table, size_bytes=size, size_source=verified_by),
        verified=verified_by is not None,
        verified_by=verified_by,
        sql=sql,
        migration=migration_for(cand, model, name, cand.create_sql(name)) if model else None,
        replaces=rules.redundant_with(cand, table.indexes),
        needs_extension=needs,
        candidate=cand,
    )


def _finding(sug: Suggestion, threshold: float) -> Finding:
    cols = ", ".join(sug.columns)
    where = f" WHERE {sug.where}" if sug.where else ""
    if sug.verified:
        message = (
            f"{sug.using} ({cols}){where} lowers the plan cost of {len(sug.statements)} "
            f"statement(s) from {sug.cost_before:,.1f} to {sug.cost_after:,.1f} "
            f"({sug.reduction:.0%}, verified with {sug.verified_by})"
        )
    else:
        message = (
            f"{sug.using} ({cols}){where} may serve {len(sug.statements)} statement(s) "
            "(unverified: no HypoPG, no --allow-build)"
        )
    if sug.replaces:
        message += f"; makes {', '.join(sug.replaces)} redundant"
    return Finding(
        kind="missing_index",
        severity="warning" if sug.verified else "info",
        table=sug.table,
        object=sug.name,
        message=message,
        evidence={
            "cost_before": sug.cost_before,
            "cost_after": sug.cost_after,
            "min_cost_reduction": threshold,
            "statements": [s["sql"] for s in sug.statements],
            "write_cost": sug.write_cost,
        },
        fix=Fix(sql=sug.sql, migration=(sug.migration or {}).get("operation")),
    )
