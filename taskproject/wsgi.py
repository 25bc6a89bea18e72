import os

from django.core.wsgi import get_wsgi_application

from taskproject.handlers import ChunkedBodyWSGI

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "taskproject.settings")
# Marks a web process: settings apply DB_STATEMENT_TIMEOUT_MS to its connections.
os.environ.setdefault("TASKPROJECT_WEB", "1")

# Chunked request bodies get a Content-Length before Django sees them (taskproject/handlers.py).
application = ChunkedBodyWSGI(get_wsgi_application())
