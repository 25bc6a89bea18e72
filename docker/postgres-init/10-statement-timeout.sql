-- docker-compose.yml's PostgreSQL runs this once, when it initialises an empty data directory
-- (the postgres image's /docker-entrypoint-initdb.d). On an existing volume, run it yourself:
--   docker compose exec db psql -U taskproject -c "ALTER ROLE taskproject SET statement_timeout = '10s'"
--
-- The role-level statement timeout docs/scaling.md asks for behind PgBouncer (transaction mode
-- cannot carry the startup option the app sends when it connects directly): every session of the
-- role starts with it, and PgBouncer's DISCARD ALL resets to it. Equal to the app's
-- DB_STATEMENT_TIMEOUT_MS (10 s). The migrate service connects directly with
-- `options=-c statement_timeout=0`, so migrations and seeddata are never limited.
ALTER ROLE taskproject SET statement_timeout = '10s';
