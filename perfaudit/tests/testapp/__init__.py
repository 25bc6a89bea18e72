"""A small app of "another team" for the standalone suite (perfaudit/tests/settings.py): models
with a foreign key and a declared Meta.indexes entry, so the index tests that need a project's
own models run outside the demo project too."""
