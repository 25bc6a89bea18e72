"""The project's ASGI handler (taskproject/handlers.py) is Django's, through supported hooks:
``request_started``'s receivers as one async receiver, so ``Signal.asend`` makes no thread hop
for them. Driven as a server drives it: the ASGI callable with a scope, receive and send."""

import pytest
from asgiref.sync import async_to_sync
from django.core.handlers.asgi import ASGIHandler

# A raw ASGI request, as the async profile sends them (the scope, receive and send of a server).
from benchmarks.profile_async import _request as asgi_get
from taskproject import handlers
from tasks.tests import test_async_views
from tasks.tests.conftest import token_for

pytestmark = pytest.mark.django_db(transaction=True)

SIGNAL_HOP = "Signal.asend.<locals>.sync_send"
thread_hops = test_async_views.thread_hops  # the functions a request ran on a thread


@pytest.fixture
def restore_signals():
    yield
    # Building the project's handler swaps request_started's receivers for the process (an
    # ASGI server's); this test process goes on with Django's sync test client.
    handlers.use_sync_request_started()


@pytest.mark.parametrize("handler", [handlers.TaskprojectASGIHandler, ASGIHandler])
def test_request_started_makes_no_thread_hop(owner, thread_hops, restore_signals, handler):
    app = handler()
    hops = thread_hops
    assert async_to_sync(asgi_get)(app, "/api/async/tasks/", token_for(owner)) == 200
    if handler is ASGIHandler:
        # Django's receivers, sync: asend runs them on a thread (what the project avoids).
        assert SIGNAL_HOP in hops, hops
    else:
        assert SIGNAL_HOP not in hops, hops


def test_the_handler_copies_nothing_of_django():
    # Supported hooks only: Django's handle(), an override of create_request() (chunked bodies).
    assert handlers.TaskprojectASGIHandler.handle is ASGIHandler.handle
    overridden = {
        name
        for name, value in vars(handlers.TaskprojectASGIHandler).items()
        if callable(value) and not name.startswith("__")
    }
    assert overridden == {"create_request"}
