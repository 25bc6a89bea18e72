import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskproject.settings")
# Marks a web process: settings apply DB_STATEMENT_TIMEOUT_MS to its connections.
os.environ.setdefault("TASKPROJECT_WEB", "1")

# What django.core.asgi.get_asgi_application() does, with our handler (taskproject/handlers.py:
# no thread hop for Django's request signals when a request opens no Django connection).
django.setup(set_prefix=False)

from taskproject.handlers import TaskprojectASGIHandler  # noqa: E402 - needs the apps ready

application = TaskprojectASGIHandler()
