"""What perfaudit collects, as frozen dataclasses: one module per catalog topic.

``perfaudit.catalog.<topic>.collect`` fills them (SQL only), the sandbox's probes return them
(plans, timings, what-if costs), ``perfaudit.rules.<topic>.evaluate`` judges them (pure). Both
sides import this package and never each other. Every record round-trips through JSON
(``to_dict`` / ``from_dict``, ``perfaudit.snapshots.base``), so history can store snapshots and
judge them again later.
"""
