-- The seeddata floor: 1M plain INSERT ... SELECT generate_series rows into the indexed tasks table,
-- rolled back. Run: .venv/bin/python -m taskproject.embedded_db psql -f benchmarks/seed_floor.sql
-- (needs at least one user; tasks are spread over the first 10,000 user ids)
\timing on
BEGIN;
TRUNCATE tasks_task;
INSERT INTO tasks_task (owner_id, title, description, completed, completed_at, priority, due_date, created_at, updated_at)
SELECT (SELECT min(id) FROM tasks_user) + (g % 10000),
       'Task ' || g, 'description of task ' || g || ' quarterly review',
       g % 5 < 2, CASE WHEN g % 5 < 2 THEN now() END,
       (ARRAY['low','medium','high'])[1 + g % 3],
       CASE WHEN g % 3 = 0 THEN now() + (g % 60) * interval '1 day' END,
       now() - (g % 365) * interval '1 day', now()
FROM generate_series(1, 1000000) g;
ROLLBACK;
