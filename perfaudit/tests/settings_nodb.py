"""Settings for perfaudit's DB-free rule tests alone (``make mutate``): the rules are pure, so
these tests never open a connection; the database below is never reached."""

SECRET_KEY = "perfaudit-rule-tests"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.postgres",
    "perfaudit",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": "perfaudit_rules_never_connected",
        "HOST": "/nonexistent",
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
