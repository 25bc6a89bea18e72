from django.apps import AppConfig


class TestAppConfig(AppConfig):
    name = "perfaudit.tests.testapp"
    label = "perfaudit_testapp"
    default_auto_field = "django.db.models.BigAutoField"
