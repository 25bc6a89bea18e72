# Production image: gunicorn serving the WSGI app, static files served by WhiteNoise, as uid 10001.
# Needs DATABASE_URL (PostgreSQL >= 14) and SECRET_KEY at run time (with DEBUG off, the default,
# it refuses to start without either); PORT, WEB_CONCURRENCY and GUNICORN_CMD_ARGS as gunicorn
# documents (taskproject/gunicorn_conf.py). Built and run by `make docker-test` (docker/test.py),
# on a stand-in base image where no registry is reachable. See the README, "Docker".
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# A system user with no home and no shell; it owns nothing in /app (the code and static files
# stay root's: the app cannot rewrite them).
RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app

WORKDIR /app
# Runtime requirements only (no tests, lint, benchmarks or embedded PostgreSQL); pip
# byte-compiles what it installs.
COPY requirements.txt .
RUN pip install -r requirements.txt

# .dockerignore is an allowlist: the apps and manage.py, without tests or docs.
COPY . .
# One layer for the static files and the byte-code, both written as root and read-only to the app
# (no `chown -R`, which would copy them into a second layer). collectstatic imports the settings,
# which require a SECRET_KEY and a DATABASE_URL with DEBUG off: throwaway ones, for this step
# only, never in the image's environment. Byte-compiled because PYTHONDONTWRITEBYTECODE (and a
# read-only /app) would otherwise recompile every module in every worker at each start.
RUN SECRET_KEY=collectstatic-only-$(python -c "import secrets; print(secrets.token_urlsafe(48))") \
    DATABASE_URL=postgresql://unused@localhost/unused \
    python manage.py collectstatic --noinput --verbosity 0 \
    && python -m compileall -q -j 0 -x '/app/var/' /app

USER 10001:10001
EXPOSE 8000
# /health/ on this container (standard library only: no curl in the image).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-m", "taskproject.healthcheck"]
# gunicorn is PID 1 (exec form, no shell): it gets Docker's SIGTERM and stops gracefully.
CMD ["gunicorn", "--config", "python:taskproject.gunicorn_conf", "taskproject.wsgi:application"]
