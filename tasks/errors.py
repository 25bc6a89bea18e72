"""The API's JSON error contract, one implementation for both servers.

The sync views (DRF) answer an exception with DRF's ``exception_handler`` (REST_FRAMEWORK's
default); the native async views (tasks/async_views.py) call ``error_response``, which runs that
same handler and renders its data with the API's renderer: ``{"detail": ...}`` or the field
errors of a 400, the ``WWW-Authenticate`` challenge of a 401, ``Retry-After`` of a 429, the
database's 503 (taskproject.middleware, also the sync views' answer).
"""

from __future__ import annotations

import psycopg
from django.db import InterfaceError, OperationalError
from django.http import HttpResponse
from rest_framework import exceptions
from rest_framework.views import exception_handler

from taskproject.middleware import database_unavailable_response
from tasks.authentication import authenticate_header
from tasks.renderers import json_response

# Down, unreachable, killed, statement timeout, no free connection (asyncdb.PoolTimeout): the
# native statements raise psycopg's errors, the ORM Django's; one 503 for both.
UNAVAILABLE = (OperationalError, InterfaceError, psycopg.OperationalError, psycopg.InterfaceError)


def error_response(request, exc: Exception) -> HttpResponse | None:
    """The JSON answer to ``exc``, or None for an exception the API does not answer (a bug:
    Django's 500)."""
    if isinstance(exc, UNAVAILABLE):
        return database_unavailable_response(request, exc)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        # What DRF's APIView.handle_exception adds before calling the handler.
        exc.auth_header = authenticate_header(request)
    drf = exception_handler(exc, {"request": request})
    if drf is None:
        return None
    response = json_response(drf.data, status=drf.status_code)
    for header in ("WWW-Authenticate", "Retry-After"):  # the only headers the handler sets
        if header in drf:
            response[header] = drf[header]
    return response
