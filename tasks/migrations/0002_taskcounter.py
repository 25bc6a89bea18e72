"""Per-owner task counters kept exact by statement-level triggers (see TaskCounter)."""

from django.db import migrations, models
import django.db.models.deletion

# One CTE shape for the three triggers: +1 for each new row, -1 for each old row, grouped by
# owner, upserted in owner order (a fixed lock order, so two multi-owner statements cannot
# deadlock on each other's counter rows).
UPSERT = """
    INSERT INTO tasks_taskcounter AS c
        (owner_id, total, completed, low, medium, high, high_pending, completion_seconds)
    SELECT owner_id,
           sum(s),
           coalesce(sum(s) FILTER (WHERE completed), 0),
           coalesce(sum(s) FILTER (WHERE priority = 'low'), 0),
           coalesce(sum(s) FILTER (WHERE priority = 'medium'), 0),
           coalesce(sum(s) FILTER (WHERE priority = 'high'), 0),
           coalesce(sum(s) FILTER (WHERE priority = 'high' AND NOT completed), 0),
           coalesce(sum(s * extract(epoch FROM completed_at - created_at))
                    FILTER (WHERE completed), 0)
    FROM ({rows}) AS d
    GROUP BY owner_id
    ORDER BY owner_id
    ON CONFLICT (owner_id) DO UPDATE SET
        total = c.total + excluded.total,
        completed = c.completed + excluded.completed,
        low = c.low + excluded.low,
        medium = c.medium + excluded.medium,
        high = c.high + excluded.high,
        high_pending = c.high_pending + excluded.high_pending,
        completion_seconds = c.completion_seconds + excluded.completion_seconds
"""
COLS = "owner_id, completed, priority, completed_at, created_at"

INSERT_ROWS = f"SELECT 1 AS s, {COLS} FROM new_rows"
DELETE_ROWS = f"SELECT -1 AS s, {COLS} FROM old_rows"
# Only rows whose counted columns changed (a title edit touches no counter row, takes no lock).
UPDATE_ROWS = f"""
    SELECT 1 AS s, n.owner_id, n.completed, n.priority, n.completed_at, n.created_at
    FROM new_rows n JOIN old_rows o USING (id)
    WHERE (n.{COLS.replace(', ', ', n.')}) IS DISTINCT FROM (o.{COLS.replace(', ', ', o.')})
    UNION ALL
    SELECT -1, o.owner_id, o.completed, o.priority, o.completed_at, o.created_at
    FROM new_rows n JOIN old_rows o USING (id)
    WHERE (n.{COLS.replace(', ', ', n.')}) IS DISTINCT FROM (o.{COLS.replace(', ', ', o.')})
"""


def function(name, rows):
    return f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {UPSERT.format(rows=rows)};
    RETURN NULL;
END $$;
"""


FORWARD = f"""
-- Django creates the table (CreateModel below, so test flushes truncate it with the others);
-- the foreign key is ours: ON DELETE CASCADE drops a deleted user's row inside PostgreSQL,
-- after Django has deleted (and the trigger has subtracted) that user's tasks.
ALTER TABLE tasks_taskcounter ADD CONSTRAINT tasks_taskcounter_owner_fk
    FOREIGN KEY (owner_id) REFERENCES tasks_user (id) ON DELETE CASCADE;
{function("tasks_counter_ins", INSERT_ROWS)}
{function("tasks_counter_del", DELETE_ROWS)}
{function("tasks_counter_upd", UPDATE_ROWS)}
CREATE FUNCTION tasks_counter_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM tasks_taskcounter;
    RETURN NULL;
END $$;
-- Recount from scratch: used after bulk loads that disable the triggers (seeddata), and by
-- anyone who suspects drift. One GROUP BY pass over tasks.
CREATE FUNCTION tasks_counter_rebuild() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM tasks_taskcounter;
    {UPSERT.format(rows=f"SELECT 1 AS s, {COLS} FROM tasks_task")};
END $$;
CREATE TRIGGER tasks_counter_ins AFTER INSERT ON tasks_task
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION tasks_counter_ins();
CREATE TRIGGER tasks_counter_del AFTER DELETE ON tasks_task
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION tasks_counter_del();
CREATE TRIGGER tasks_counter_upd AFTER UPDATE ON tasks_task
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION tasks_counter_upd();
CREATE TRIGGER tasks_counter_truncate AFTER TRUNCATE ON tasks_task
    FOR EACH STATEMENT EXECUTE FUNCTION tasks_counter_truncate();
SELECT tasks_counter_rebuild();
"""

REVERSE = """
DROP TRIGGER IF EXISTS tasks_counter_ins ON tasks_task;
DROP TRIGGER IF EXISTS tasks_counter_del ON tasks_task;
DROP TRIGGER IF EXISTS tasks_counter_upd ON tasks_task;
DROP TRIGGER IF EXISTS tasks_counter_truncate ON tasks_task;
DROP FUNCTION IF EXISTS tasks_counter_ins();
DROP FUNCTION IF EXISTS tasks_counter_del();
DROP FUNCTION IF EXISTS tasks_counter_upd();
DROP FUNCTION IF EXISTS tasks_counter_truncate();
DROP FUNCTION IF EXISTS tasks_counter_rebuild();
ALTER TABLE tasks_taskcounter DROP CONSTRAINT IF EXISTS tasks_taskcounter_owner_fk;
"""


class Migration(migrations.Migration):

    dependencies = [
        ('tasks', '0001_initial'),
    ]

    operations = [
        migrations.CreateModel(
            name='TaskCounter',
            fields=[
                ('owner', models.OneToOneField(db_constraint=False, on_delete=django.db.models.deletion.DO_NOTHING, primary_key=True, related_name='task_counter', serialize=False, to='tasks.user')),
                ('total', models.BigIntegerField()),
                ('completed', models.BigIntegerField()),
                ('low', models.BigIntegerField()),
                ('medium', models.BigIntegerField()),
                ('high', models.BigIntegerField()),
                ('high_pending', models.BigIntegerField()),
                ('completion_seconds', models.DecimalField(decimal_places=6, max_digits=30)),
            ],
            options={
                'db_table': 'tasks_taskcounter',
            },
        ),
        migrations.RunSQL(FORWARD, REVERSE),
    ]
