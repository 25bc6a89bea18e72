"""Pure rules: catalog dataclasses in, Findings out. No database access here."""
