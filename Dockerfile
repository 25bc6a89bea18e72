# Production image: gunicorn serving the WSGI app, static files served by WhiteNoise.
# Needs DATABASE_URL (PostgreSQL >= 14) and SECRET_KEY at run time; see docker-compose.yml.
# Not exercised by CI (no Docker engine on the CI machines).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .
# collectstatic imports settings, which require a SECRET_KEY with DEBUG off: a throwaway one,
# used only for this build step and never baked into the image's environment.
RUN SECRET_KEY=collectstatic-only-$(python -c "import secrets; print(secrets.token_urlsafe(48))") \
    DATABASE_URL=postgresql://unused@localhost/unused \
    python manage.py collectstatic --noinput --verbosity 0

RUN useradd --create-home --uid 10001 app && chown -R app /app/var
USER app

EXPOSE 8000
CMD ["gunicorn", "taskproject.wsgi:application", "--bind", "0.0.0.0:8000", \
     "--workers", "3", "--access-logfile", "-"]
