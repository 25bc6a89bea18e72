"""The smallest project perfaudit's own test suite runs in: what ``django-admin startproject``
gives, plus perfaudit and its middleware. No demo app, no DRF, no silk, Django's own User.

The test matrix (noxfile.py) runs ``perfaudit/tests`` with these settings on each supported
Django x Python pair, so the suite proves perfaudit works in a project that is not taskproject.
``make test`` runs the same tests inside the demo project (taskproject.settings) instead.

The database comes from ``DATABASE_URL`` (any PostgreSQL >= 14), e.g. the embedded server's
``postgresql://postgres@/taskproject?host=/path/to/var/pg/run`` or
``postgresql://postgres@127.0.0.1:5432/postgres``.
"""

import os

from django.core.exceptions import ImproperlyConfigured
from psycopg.conninfo import conninfo_to_dict

DEBUG = False
SECRET_KEY = "perfaudit-tests-only-" + "x" * 50  # throwaway, tests only
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "perfaudit",
    "perfaudit.tests.testapp",
]

MIDDLEWARE = [
    "perfaudit.runtime.PerfauditMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "perfaudit.tests.urls"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


def _database(url: str) -> dict:
    if not url:
        raise ImproperlyConfigured(
            "DATABASE_URL: not set. perfaudit's tests need a PostgreSQL server, e.g. "
            "DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres"
        )
    try:
        params = conninfo_to_dict(url)
    except Exception as exc:  # psycopg raises ProgrammingError on a malformed URL
        raise ImproperlyConfigured(f"DATABASE_URL: cannot parse it ({exc})") from None
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": params.pop("dbname", "postgres"),
        "USER": params.pop("user", ""),
        "PASSWORD": params.pop("password", ""),
        "HOST": params.pop("host", ""),
        "PORT": params.pop("port", ""),
        "OPTIONS": params,
    }


DATABASES = {"default": _database(os.environ.get("DATABASE_URL", ""))}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"
# Every runtime detector on, as the demo project runs them in its tests.
PERFAUDIT = {"SLOW_QUERY_MS": 100.0, "REPEATED_QUERY_MODE": "off", "SERVER_TIMING": True}
# The tests create users by the hundred; PBKDF2's deliberate slowness would be most of the run.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
