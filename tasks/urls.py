from django.urls import path, register_converter
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from tasks import async_views, views


class IdConverter:
    """Positive ids that fit PostgreSQL's bigint: a longer number is a 404, not a DB error."""

    regex = "[1-9][0-9]{0,17}"

    def to_python(self, value):
        return int(value)

    def to_url(self, value):
        return str(value)


register_converter(IdConverter, "id")

urlpatterns = [
    path("auth/token/", views.TokenView.as_view(), name="api-token"),
    path("auth/token/revoke/", views.TokenRevokeView.as_view(), name="api-token-revoke"),
    path(
        "auth/tokens/revoke-all/", views.TokensRevokeAllView.as_view(), name="api-tokens-revoke-all"
    ),
    path("tasks/", views.TaskListCreateView.as_view(), name="task-list"),
    path("tasks/bulk/", views.TaskBulkCreateView.as_view(), name="task-bulk-create"),
    path("tasks/bulk-complete/", views.TaskBulkCompleteView.as_view(), name="task-bulk-complete"),
    path("tasks/search/", views.TaskSearchView.as_view(), name="task-search"),
    path("tasks/stats/", views.TaskStatsView.as_view(), name="task-stats"),
    path("tasks/<id:pk>/", views.TaskDetailView.as_view(), name="task-detail"),
    path("users/", views.UserListView.as_view(), name="user-list"),
    path("users/summaries/", views.UserSummariesView.as_view(), name="user-summaries"),
    path("users/<id:pk>/dashboard/", views.UserDashboardView.as_view(), name="user-dashboard"),
    path("users/<id:pk>/tasks/", views.UserTaskListView.as_view(), name="user-tasks"),
    path("async/tasks/", async_views.task_list, name="async-task-list"),
    path("async/tasks/stats/", async_views.task_stats, name="async-task-stats"),
    path(
        "async/tasks/bulk-complete/",
        async_views.bulk_complete,
        name="async-task-bulk-complete",
    ),
    path("async/users/<id:pk>/tasks/", async_views.user_tasks, name="async-user-tasks"),
    path("async/users/summaries/", async_views.user_summaries, name="async-user-summaries"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
