"""One log line per client error (4xx), and no traceback for one.

The WSGI/ASGI server's access log (gunicorn ``--access-logfile -``, as ``make run`` and the
Docker image run it) already has a line for every request with its status. Django adds its own
warning for each 4xx response (``django.request``: "Not Found: /x"), and for a PermissionDenied
or a SuspiciousOperation the exception's traceback too: an ordinary 403 took a dozen lines.
Server errors (5xx) keep Django's record with its traceback. A security rejection
(``django.security.*``: a CSRF failure, a disallowed Host header) keeps its one line, because it
names the reason the access log cannot show, without the traceback.
"""

import logging


class ClientErrorFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        status = getattr(record, "status_code", None)
        if not isinstance(status, int) or not 400 <= status < 500:
            return True
        if record.name == "django.request":
            return False
        record.exc_info = None
        record.exc_text = None
        return True
