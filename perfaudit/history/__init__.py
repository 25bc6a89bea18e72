"""perfaudit's memory: captures of the statistics stored with retention (``capturestats``),
and what changed between two windows of them (``perfchanges``, the Changes page).

deltas (pure: cumulative counters to per-interval numbers), store (the ORM writes: one capture
in a few bulk statements, and the prune), read (the ORM reads the change rules and the charts
use). The models are perfaudit.models' Capture* classes; docs/perfaudit.md, "History".
"""
