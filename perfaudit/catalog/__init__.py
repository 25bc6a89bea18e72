"""Pure reads of pg_catalog / pg_stat_*: each function takes a connection, returns dataclasses.

All SQL here is static text with bound parameters; identifiers are never formatted into it.
"""
