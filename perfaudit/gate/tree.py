"""Step 3 of the gate: what a statement touches, read from its parse tree, refusing what no
catalog lookup can make safe (row locks, SELECT INTO, a data-modifying WITH)."""

from __future__ import annotations

from dataclasses import dataclass, field

from pglast import ast

from perfaudit.gate.errors import Refused

_LOCKING = {
    "LCS_FORKEYSHARE": "FOR KEY SHARE",
    "LCS_FORSHARE": "FOR SHARE",
    "LCS_FORNOKEYUPDATE": "FOR NO KEY UPDATE",
    "LCS_FORUPDATE": "FOR UPDATE",
}


def _names(items) -> tuple[str | None, str]:
    """(schema or None, name) of a qualified name's String nodes."""
    parts = [item.sval for item in items if isinstance(item, ast.String)]
    return (parts[-2] if len(parts) > 1 else None), parts[-1]


@dataclass
class Uses:
    """What a statement touches, read from its parse tree."""

    relations: set = field(default_factory=set)  # (schema, name)
    functions: set = field(default_factory=set)  # (schema, name, how) how: "" or "TABLESAMPLE"
    operators: set = field(default_factory=set)  # (schema, name)
    types: set = field(default_factory=set)  # (schema, name)


def uses_of(statement) -> Uses:
    """Walk the tree (no recursion) and refuse what no catalog lookup can make safe."""
    uses = Uses()
    stack = [statement]
    while stack:
        node = stack.pop()
        if isinstance(node, tuple):
            stack.extend(node)
            continue
        if not isinstance(node, ast.Node):
            continue
        if isinstance(node, ast.RangeVar):
            uses.relations.add((node.schemaname, node.relname))
        elif isinstance(node, ast.FuncCall):
            uses.functions.add((*_names(node.funcname), ""))
        elif isinstance(node, ast.RangeTableSample):
            uses.functions.add((*_names(node.method), "TABLESAMPLE"))
        elif isinstance(node, ast.A_Expr) and node.name:
            uses.operators.add(_names(node.name))
        elif isinstance(node, ast.TypeName) and node.names:
            uses.types.add(_names(node.names))
        elif isinstance(node, ast.LockingClause):
            clause = _LOCKING.get(getattr(node.strength, "name", ""), "FOR UPDATE")
            raise Refused(f"{clause} takes row locks: refused", reason="row_lock")
        elif isinstance(node, ast.IntoClause):
            raise Refused("SELECT … INTO creates a table: refused", reason="select_into")
        elif isinstance(node, ast.CommonTableExpr) and not isinstance(
            node.ctequery, ast.SelectStmt
        ):
            kind = type(node.ctequery).__name__.removesuffix("Stmt").upper()
            raise Refused(
                f"WITH {node.ctename} AS ({kind} …) changes data (a data-modifying WITH): refused",
                reason="data_modifying_with",
            )
        for name in node.__slots__:
            value = getattr(node, name)
            if isinstance(value, tuple | ast.Node):
                stack.append(value)
    return uses
