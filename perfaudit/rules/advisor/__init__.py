"""Index advisor rules: which indexes could serve a statement, read from its parse tree.

Pure functions over a pglast parse tree and ``TableFacts`` (catalog facts handed in), tested
without a database. The verdict on whether a candidate *helps* belongs to the planner (the
what-if step in perfaudit.sandbox); these rules only decide what is worth asking it:

* per table of each query block: equality columns (most selective first), then one range column
  or the ORDER BY columns; a constant predicate that keeps a small part of the table becomes the
  ``WHERE`` of a partial index instead of a key column;
* ``LIKE``/``ILIKE`` with a wildcard -> GIN ``gin_trgm_ops`` (B-tree cannot serve ``'%x%'``), on
  the expression when the query wraps the column (``UPPER(col) LIKE UPPER(...)``: icontains);
* ``expr @@ query`` -> GIN on the tsvector expression (or column);
* ``UPPER(col) = ...`` -> an expression B-tree;
* never a candidate an existing valid index already covers as a leading prefix;
* candidates whose keys are a prefix of another's merge into the longer one, which serves both.
"""

from perfaudit.rules.advisor.blocks import (
    analyze_statement,
    max_param,
    referenced_columns,
    referenced_tables,
    simple_function,
)
from perfaudit.rules.advisor.candidates import AdvisorRules, candidates_for, selectivity
from perfaudit.rules.advisor.choice import Trial, choose, estimated_size, write_cost
from perfaudit.rules.advisor.coverage import (
    covered_by,
    evaluate,
    generate,
    is_prefix,
    merge,
    redundant_with,
)
from perfaudit.rules.advisor.facts import (
    DEFAULT_EQ_SEL,
    DEFAULT_INEQ_SEL,
    DEFAULT_RANGE_SEL,
    LIKE_OPS,
    RANGE_OPS,
    Access,
    AdvisorInputError,
    Candidate,
    Condition,
    Key,
    Predicate,
)
from perfaudit.rules.advisor.parse import normalize_expression, parse_statement
from perfaudit.snapshots.advisor import ColumnFacts, ExistingIndex, TableFacts

__all__ = [
    "DEFAULT_EQ_SEL",
    "DEFAULT_INEQ_SEL",
    "DEFAULT_RANGE_SEL",
    "LIKE_OPS",
    "RANGE_OPS",
    "Access",
    "AdvisorInputError",
    "AdvisorRules",
    "Candidate",
    "ColumnFacts",
    "Condition",
    "ExistingIndex",
    "Key",
    "Predicate",
    "TableFacts",
    "Trial",
    "analyze_statement",
    "candidates_for",
    "choose",
    "covered_by",
    "estimated_size",
    "evaluate",
    "generate",
    "is_prefix",
    "max_param",
    "merge",
    "normalize_expression",
    "parse_statement",
    "redundant_with",
    "referenced_columns",
    "referenced_tables",
    "selectivity",
    "simple_function",
    "write_cost",
]
