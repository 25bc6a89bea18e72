import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskproject.settings")
# Marks a web process: settings apply DB_STATEMENT_TIMEOUT_MS to its connections.
os.environ.setdefault("TASKPROJECT_WEB", "1")

# What django.core.asgi.get_asgi_application() does, with our handler (taskproject/handlers.py:
# Django's handler, chunked request bodies, no thread hop for request_started).
django.setup(set_prefix=False)

from taskproject.handlers import TaskprojectASGIHandler  # noqa: E402 - needs the apps ready

application = TaskprojectASGIHandler()
