from django.apps import AppConfig


class TaskprojectConfig(AppConfig):
    name = "taskproject"
    verbose_name = "taskproject (deployment glue)"

    def ready(self):
        from django.conf import settings
        from django.db.backends.signals import connection_created

        from taskproject import pooler

        if getattr(settings, "DB_STATEMENT_TIMEOUT_LOCAL_MS", 0):
            connection_created.connect(pooler.install_local_timeout, dispatch_uid="pooler-timeout")
