from django.apps import AppConfig


class PerfauditConfig(AppConfig):
    name = "perfaudit"
    verbose_name = "Performance audit"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        # Registers the system checks (the decorators run on import).
        from perfaudit import checks  # noqa: F401
