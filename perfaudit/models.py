"""A placeholder model so the perfaudit pages get a section on the admin index.

Django's admin lists models, not views. An unmanaged model with no table gives perfaudit an
admin entry (and URLs through ``ModelAdmin.get_urls()``) on the project's own AdminSite, so a
project installing perfaudit needs no custom AdminSite. ``managed = False``: migrate never
creates a table. Its permissions are the dashboard's (superusers have them all; docs/perfaudit.md,
"Permissions"):

* ``perfaudit.view_dashboard``: every page, plain EXPLAIN and the Advisor form (active staff
  users only: the admin site lets nobody else in);
* ``perfaudit.explain_analyze``: ANALYZE on the EXPLAIN page, which executes the statement
  (rolled back), when ``PERFAUDIT['ADMIN_EXPLAIN_ANALYZE']`` allows it at all;
* ``perfaudit.reset_statistics``: resetting pg_stat_statements (everyone's statistics);
* ``perfaudit.signal_backends``: cancelling or terminating another database session from the
  Sessions page (confirmed and logged).
"""

from django.db import models


class Dashboard(models.Model):
    class Meta:
        managed = False
        db_table = "perfaudit_dashboard_no_table"
        default_permissions = ("view",)
        permissions = [
            ("explain_analyze", "Can run EXPLAIN ANALYZE (executes the statement, rolled back)"),
            ("reset_statistics", "Can reset the statement statistics (pg_stat_statements)"),
            ("signal_backends", "Can cancel or terminate database sessions"),
        ]
        verbose_name = "performance dashboard"
        verbose_name_plural = "performance dashboard"

    def __str__(self):
        return "performance dashboard"


# --- history (perfaudit.history; docs/perfaudit.md, "History") --------------------------------
# Stored on PERFAUDIT["HISTORY_DATABASE"] when set (perfaudit.routers.HistoryRouter), else on
# the database they describe. Written in a few bulk statements per capture, pruned by age.


class Capture(models.Model):
    """One ``capturestats`` run: the database's own numbers, and since the previous capture."""

    taken_at = models.DateTimeField(db_index=True)
    database = models.CharField(max_length=200)
    server_version_num = models.IntegerField()
    server_started = models.DateTimeField()
    #: Seconds since the previous capture of this database (None: the first one).
    seconds = models.FloatField(null=True)
    #: Counters restarted since the previous capture (reset or server restart): the deltas
    #: count from the restart, not from the previous capture.
    restarted = models.BooleanField(default=False)
    database_bytes = models.BigIntegerField()
    blocks_hit = models.BigIntegerField(default=0)
    blocks_read = models.BigIntegerField(default=0)
    #: Client connections of the server by state.
    connections = models.JSONField(default=dict)
    max_connections = models.IntegerField(default=0)
    #: The cumulative counters the next capture starts from (only the latest capture keeps it).
    baseline = models.JSONField(null=True)
    duration_ms = models.FloatField(default=0.0)
    #: Tables and indexes were sampled (every HISTORY_RELATIONS_SECONDS, not every capture).
    relations_sampled = models.BooleanField(default=True)

    class Meta:
        default_permissions = ()

    def __str__(self):
        return f"capture of {self.database} at {self.taken_at:%Y-%m-%d %H:%M:%S}"

    @property
    def cache_hit_ratio(self) -> float | None:
        total = self.blocks_hit + self.blocks_read
        return self.blocks_hit / total if total else None


class CapturedStatement(models.Model):
    """A statement's text, stored once (pg_stat_statements' normalized text)."""

    queryid = models.BigIntegerField(primary_key=True)
    query = models.TextField()
    #: perfaudit.origin: the application's, or a tool's; "" until a capture classified it
    #: (each capture classifies a bounded number of new texts: HISTORY_CLASSIFY_PER_CAPTURE).
    origin = models.CharField(max_length=16, default="")
    first_seen = models.DateTimeField()

    class Meta:
        default_permissions = ()

    def __str__(self):
        return f"statement {self.queryid}"


class CapturedPlan(models.Model):
    """A plan shape (perfaudit.snapshots.history.PlanShape), stored once by its hash."""

    hash = models.CharField(max_length=16, primary_key=True)
    nodes = models.JSONField()
    first_seen = models.DateTimeField()

    class Meta:
        default_permissions = ()

    def __str__(self):
        return f"plan {self.hash}"


class StatementSample(models.Model):
    """What one statement did between two captures (statements not called are not stored)."""

    capture = models.ForeignKey(Capture, on_delete=models.CASCADE, related_name="statements")
    queryid = models.BigIntegerField()
    calls = models.BigIntegerField()
    total_ms = models.FloatField()
    rows = models.BigIntegerField()
    shared_hit = models.BigIntegerField()
    shared_read = models.BigIntegerField()
    local_hit = models.BigIntegerField()
    local_read = models.BigIntegerField()
    temp_read = models.BigIntegerField()
    temp_written = models.BigIntegerField()
    wal_bytes = models.BigIntegerField()
    #: The plan shape taken at this capture (top statements by time only).
    plan_hash = models.CharField(max_length=16, null=True)  # noqa: DJ001 (NULL: not planned)

    class Meta:
        default_permissions = ()
        # The drill-down and the comparison read one statement (or all) over a time range.
        indexes = [models.Index(fields=["queryid", "capture"], name="perfaudit_stmt_q_capture")]

    def __str__(self):
        return f"statement {self.queryid} in capture {self.capture_id}"


class RelationSample(models.Model):
    """A table or index at one capture: sizes now, scans and writes since the previous one."""

    capture = models.ForeignKey(Capture, on_delete=models.CASCADE, related_name="relations")
    kind = models.CharField(max_length=5)  # table | index
    schema = models.CharField(max_length=200)
    name = models.CharField(max_length=200)
    table = models.CharField(max_length=200)
    size_bytes = models.BigIntegerField()
    rows = models.BigIntegerField()
    dead_rows = models.BigIntegerField()
    scans = models.BigIntegerField()
    writes = models.BigIntegerField()
    last_vacuum = models.DateTimeField(null=True)
    last_analyze = models.DateTimeField(null=True)
    unique = models.BooleanField(default=False)

    class Meta:
        default_permissions = ()
        indexes = [models.Index(fields=["name", "capture"], name="perfaudit_rel_name_capture")]

    def __str__(self):
        return f"{self.kind} {self.name} in capture {self.capture_id}"
