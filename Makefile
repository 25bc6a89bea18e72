# Two commands on a fresh machine: `make run` and `make test`. Everything else is optional.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
# The virtualenv is rebuilt only when the requirement files change. requirements.txt is what the
# Docker image installs; development adds the embedded PostgreSQL and the dev tools.
REQUIREMENTS := requirements.txt requirements-embedded.txt requirements-dev.txt
STAMP := $(VENV)/.installed-$(shell cat $(REQUIREMENTS) | sha1sum | cut -c1-12)
HOST ?= 127.0.0.1
PORT ?= 8000
WORKERS ?= 2
DEMO_USERS ?= 50
DEMO_TASKS ?= 5000
# `make run` is the local development server: DEBUG on unless you say otherwise; silk follows
# DEBUG unless you say otherwise; the embedded PostgreSQL serves unless DATABASE_URL is set (with
# DEBUG off the settings refuse a missing DATABASE_URL without EMBEDDED_PG=1). Typed SQL in
# perfaudit's forms runs as the least-privileged role perfaudit_sql (PERFAUDIT_SQL_ROLE= turns
# it off; docs/operations.md, "perfaudit security").
RUN_ENV := DEBUG=$${DEBUG:-1} SILK_ENABLED=$${SILK_ENABLED:-$${DEBUG:-1}} EMBEDDED_PG=1 \
	PERFAUDIT_SQL_ROLE=$${PERFAUDIT_SQL_ROLE-perfaudit_sql}
MANAGE := $(RUN_ENV) $(PY) manage.py

.PHONY: help install db stop-db migrate prepare check-port run run-asgi test test-matrix lint format \
	clean bench bench-quick wrk browser pgbouncer hypopg docker-engine docker-test redis mutate

help:
	@echo "make run       set up everything and serve on http://$(HOST):$(PORT)/ (gunicorn, WSGI)"
	@echo "make run-asgi  the same under gunicorn + uvicorn worker (ASGI)"
	@echo "make test      set up and run the test suite (PostgreSQL: embedded, or DATABASE_URL)"
	@echo "make test-matrix  perfaudit's suite + install check on each Django x Python pair (nox)"
	@echo "make lint      ruff check + ruff format --check"
	@echo "make bench     benchmarks at 10k users / 1M tasks (report in benchmarks/results/)"
	@echo "make bench-quick  the same at a small scale (~2 min), to keep the runner working"
	@echo "make stop-db   stop the embedded PostgreSQL"
	@echo "make docker-test  build the Docker image and check it against PostgreSQL (needs Docker)"
	@echo "make mutate    mutation testing of perfaudit's rules (mutmut), the score per module"

install: $(STAMP)

$(STAMP): $(REQUIREMENTS)
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	@rm -f $(VENV)/.installed-*
	@touch $@

# Starts the embedded server unless DATABASE_URL points elsewhere.
db: install
	@if [ -z "$$DATABASE_URL" ]; then $(PY) -m taskproject.embedded_db start; fi

stop-db: install
	$(PY) -m taskproject.embedded_db stop

migrate: db
	$(MANAGE) migrate --noinput

# Idempotent: a second run skips what is already done.
prepare: migrate
	$(MANAGE) seeddata --if-empty --users $(DEMO_USERS) --tasks $(DEMO_TASKS)
	$(MANAGE) collectstatic --noinput --verbosity 0
	@$(MANAGE) demouser > var/demo-login.txt
	@if [ -n "$${PERFAUDIT_SQL_ROLE-perfaudit_sql}" ]; then $(MANAGE) perfauditrole; fi
	@$(RUN_ENV) $(PY) -m taskproject.devserver banner --host $(HOST) --port $(PORT) \
		--login-file var/demo-login.txt

# A clear message (and exit 2) when the port is taken, before gunicorn retries and gives up.
check-port: install
	@$(PY) -m taskproject.devserver check-port --host $(HOST) --port $(PORT)

# perfaudit's history fills itself while the server runs: a capture every CAPTURE_EVERY seconds
# (0: none) in the background, stopped with the server; its log is var/capturestats.log. The
# History and Changes pages have charts after a few minutes (docs/perfaudit.md, "History").
CAPTURE_EVERY ?= 60
CAPTURE_LOOP := if [ "$(CAPTURE_EVERY)" != 0 ]; then $(MANAGE) capturestats --every \
	$(CAPTURE_EVERY) >var/capturestats.log 2>&1 & trap "kill $$! 2>/dev/null" EXIT; fi

run: check-port prepare
	@$(CAPTURE_LOOP); \
	$(RUN_ENV) $(VENV)/bin/gunicorn taskproject.wsgi:application --bind $(HOST):$(PORT) \
		--workers $(WORKERS) --access-logfile -

# gunicorn + uvicorn worker: uvloop and httptools (uvicorn[standard]) are picked up on their
# own. The async endpoints use their own native connections (taskproject/asyncdb.py); the rest
# of the app runs its sync database work on a fresh thread per request, where persistent
# per-thread connections would pile up (one new connection per request): use the pool for it.
run-asgi: check-port prepare
	@$(CAPTURE_LOOP); \
	$(RUN_ENV) DB_POOL=$${DB_POOL:-1} $(VENV)/bin/gunicorn taskproject.asgi:application \
		--bind $(HOST):$(PORT) --workers $(WORKERS) --worker-class uvicorn_worker.UvicornWorker \
		--access-logfile -

test: db browser pgbouncer hypopg redis
	$(PY) -m pytest

# --- perfaudit's test matrix (noxfile.py; docs/perfaudit.md, "Test matrix") -----------------
# sdist + wheel and twine check, then perfaudit's own suite and the install check on Django 5.2 /
# Python 3.11, 6.0 / 3.12 and 6.1 / 3.13, each on the embedded PostgreSQL 18 and the system
# PostgreSQL 15. Interpreters from PATH or pyenv; a missing one skips its cells, out loud.
# NOX_ARGS passes nox options: -s "tests(py3.13-dj6.1, pg15)" for one cell, -r to reuse the
# virtualenvs, --error-on-missing-interpreters (CI) to fail instead of skipping.
test-matrix: db hypopg
	$(VENV)/bin/nox $(NOX_ARGS)

# --- PgBouncer (taskproject/tests/test_pooler.py, the pooler benchmark) -----------------------
# Debian's pgbouncer, installed when missing and we are root; the tests start their own
# instance (the package's service is not used).
pgbouncer:
	@if ! command -v pgbouncer >/dev/null && ! test -x /usr/sbin/pgbouncer; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq pgbouncer >/dev/null; \
		else \
			echo "the PgBouncer tests need: sudo apt-get install pgbouncer"; exit 2; \
		fi; \
	fi

# --- Redis server binary (taskproject/tests/test_redis_faults.py, test_rediscache.py) ---------
# The Redis fault tests start redis-server on free ports of their own (never the machine's
# Redis). Debian's redis-tools has the binary (redis-check-rdb, which is also the server) and,
# unlike the redis-server package, starts no service; installed when missing and we are root.
redis:
	@if ! command -v redis-server >/dev/null && ! command -v redis-check-rdb >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq redis-tools >/dev/null; \
		else \
			echo "the Redis fault tests need: sudo apt-get install redis-tools"; exit 2; \
		fi; \
	fi

# --- HypoPG (adviseindexes' hypothetical indexes) -------------------------------------------
# Debian packages HypoPG for the system PostgreSQL 15 only (the embedded PostgreSQL 18 has none:
# there the advisor's tests use --allow-build). Installed when PostgreSQL 15 is there, the
# extension is missing and we are root, so CI's DATABASE_URL pass runs the HypoPG tests.
hypopg:
	@if [ -d /usr/lib/postgresql/15 ] && \
		[ ! -f /usr/share/postgresql/15/extension/hypopg.control ]; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq postgresql-15-hypopg >/dev/null; \
		else \
			echo "HypoPG tests are skipped without: sudo apt-get install postgresql-15-hypopg"; \
		fi; \
	fi

# --- browser test (taskproject/tests/test_browser.py) ---------------------------------------
# Debian's chromium + chromium-driver, installed when missing and we are root, so a fresh CI
# machine runs the browser test for real. SKIP_BROWSER_TESTS=1 skips both install and test.
browser:
	@if [ "$${SKIP_BROWSER_TESTS:-0}" != 1 ] && \
		! { command -v chromium && command -v chromedriver; } >/dev/null; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
				apt-get install -y -qq chromium chromium-driver >/dev/null; \
		else \
			echo "browser test needs: sudo apt-get install chromium chromium-driver" \
				"(or SKIP_BROWSER_TESTS=1)"; exit 2; \
		fi; \
	fi

# --- mutation testing (pyproject.toml [tool.mutmut]) ----------------------------------------
# mutmut on the audit's rule modules against the DB-free rule tests only (no database, no demo
# project: perfaudit/tests/rules.ini); each mutant runs just the tests that reach its function.
# One worker by default (the machine's 2 cores are shared); MUTATE_JOBS=2 when they are free.
MUTATE_JOBS ?= 1
MUTATE_MIN ?= 85
mutate: install
	rm -rf mutants
	$(VENV)/bin/mutmut run --max-children $(MUTATE_JOBS)
	$(PY) -m perfaudit.tests.mutation_score --min $(MUTATE_MIN)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

# wrk drives the load; Debian's package (installed when missing and we are root).
wrk:
	@command -v wrk >/dev/null || { [ "$$(id -u)" = 0 ] && (apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null); } || \
		{ echo "benchmarks need wrk: sudo apt-get install wrk"; exit 2; }

bench: install wrk pgbouncer
	$(PY) -m benchmarks.run
	$(PY) -m benchmarks.history

bench-quick: install wrk pgbouncer
	$(PY) -m benchmarks.run --quick
	$(PY) -m benchmarks.history --quick

# --- Docker (docker/test.py; README, "Docker") -------------------------------------------------
# Debian's engine, compose and debootstrap (for the stand-in base image: no registry is reachable
# on the project's machines), installed when missing and we are root; dockerd started when none
# answers. Exit 3 when no engine can run here: .ci/run then skips docker-test.
docker-engine:
	@if ! command -v dockerd >/dev/null || ! command -v debootstrap >/dev/null || \
		! { docker compose version || command -v docker-compose; } >/dev/null 2>&1; then \
		if [ "$$(id -u)" = 0 ]; then \
			apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
				docker.io docker-compose debootstrap >/dev/null; \
		else \
			echo "docker-test needs: sudo apt-get install docker.io docker-compose debootstrap"; \
		fi; \
	fi
	@if ! docker info >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v dockerd >/dev/null; then \
		echo "starting dockerd (log: /var/log/dockerd.log)"; \
		setsid nohup dockerd >>/var/log/dockerd.log 2>&1 </dev/null & \
		for i in $$(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done; \
	fi
	@docker info >/dev/null 2>&1 || { echo "no Docker engine can run here" \
		"(docker info: $$(docker info 2>&1 | tail -1))"; exit 3; }

# Builds the Dockerfile unchanged (on a stand-in python:3.11-slim when none can be pulled) and
# runs it against the machine's PostgreSQL (DOCKER_TEST_DATABASE_URL to name another).
docker-test: install docker-engine
	$(PY) docker/test.py

clean:
	-$(PY) -m taskproject.embedded_db stop
	rm -rf $(VENV) var .pytest_cache .ruff_cache
