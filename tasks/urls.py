from django.urls import path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from tasks import async_views, routes, views


class IdConverter:
    """Positive ids that fit PostgreSQL's bigint: a longer number is a 404, not a DB error."""

    regex = "[1-9][0-9]{0,17}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(value)


register_converter(IdConverter, "id")


def route_patterns(declared, sync_views=None) -> list:
    """Both servings of each declared route (tasks/routes.py): the DRF view under the path, the
    native async view under async/<path>."""
    sync_views = sync_views or {}
    return [
        *(
            path(r.path, sync_views.get(r.name, views.route_view(r)).as_view(), name=r.name)
            for r in declared
        ),
        *(
            path(f"async/{r.path}", async_views.route_view(r), name=f"async-{r.name}")
            for r in declared
        ),
    ]


urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("auth/token/revoke/", views.TokenRevokeView.as_view(), name="api-token-revoke"),
    path(
        "auth/tokens/revoke-all/", views.TokensRevokeAllView.as_view(), name="api-tokens-revoke-all"
    ),
    # tasks/ also takes POST (create) on the sync server: a view of its own, derived from it.
    *route_patterns(routes.ROUTES, {routes.TASK_LIST.name: views.TaskListCreateView}),
    path("tasks/bulk/", views.TaskBulkCreateView.as_view(), name="task-bulk-create"),
    path("tasks/search/", views.TaskSearchView.as_view(), name="task-search"),
    path("tasks/<id:pk>/", views.TaskDetailView.as_view(), name="task-detail"),
    path("users/", views.UserListView.as_view(), name="user-list"),
    path("users/<id:pk>/dashboard/", views.UserDashboardView.as_view(), name="user-dashboard"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
