"""A URLconf with one route declared in a test (tasks/tests/test_routes.py): both servings
come from the declaration alone."""

from django.urls import include, path

from tasks.routes import Route
from tasks.serving import Statement
from tasks.urls import route_patterns


def open_count(call):
    count = yield Statement(
        'SELECT count(*) FROM "tasks_task" WHERE "owner_id" = %s AND NOT "completed"',
        [call.user.pk],
        lambda rows: rows[0][0],
    )
    return {"open": count}


OPEN_COUNT = Route("open-count", "tasks/open-count/", "GET", "Open tasks", open_count)

urlpatterns = [path("api/", include(route_patterns([OPEN_COUNT])))]
