"""Naive baselines (see __init__). Deliberately slow: do not copy these patterns."""

from django.db import connection
from django.db.models.functions import Now
from rest_framework import exceptions, generics, serializers
from rest_framework.authentication import TokenAuthentication
from rest_framework.decorators import (
    api_view,
    authentication_classes,
    permission_classes,
    renderer_classes,
)
from rest_framework.pagination import PageNumberPagination
from rest_framework.permissions import IsAuthenticated
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from tasks import tokens
from tasks.models import ApiToken, Task, User


class OrmTokenAuthentication(TokenAuthentication):
    """DRF's TokenAuthentication as it is written (a select_related ORM query compiled per
    request), on our hashed tokens: the naive auth the baselines pay."""

    def authenticate_credentials(self, key):
        token = (
            ApiToken.objects.select_related("user")
            .filter(digest=tokens.digest_of(key), revoked_at__isnull=True, expires_at__gt=Now())
            .first()
        )
        if token is None or not token.user.is_active:
            raise exceptions.AuthenticationFailed("Invalid token.")
        return token.user, token


def baseline(view):
    """DRF's defaults on purpose (stdlib JSON renderer), token auth like the API."""
    view = renderer_classes([JSONRenderer])(view)
    view = permission_classes([IsAuthenticated])(view)
    view = authentication_classes([OrmTokenAuthentication])(view)
    return api_view(["GET"])(view)


@baseline
def users_n_plus_one(request):
    """Seed's "❌ Bad" example: one COUNT query per user on the page (N+1)."""
    users = User.objects.filter(is_active=True).order_by("-created_at")[:50]
    return Response(
        [
            {
                "id": u.id,
                "email": u.email,
                "full_name": u.full_name,
                "task_count": Task.objects.filter(owner=u).count(),
            }
            for u in users
        ]
    )


@baseline
def users_full_group_by(request):
    """Seed's get_users_with_task_count: GROUP BY over the whole tasks table for one page."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT u.id, u.email, u.full_name, u.is_active, u.created_at,
                   COALESCE(t.task_count, 0) AS task_count
            FROM tasks_user u
            LEFT JOIN (SELECT owner_id, COUNT(*) AS task_count FROM tasks_task GROUP BY owner_id) t
                   ON u.id = t.owner_id
            WHERE u.is_active = true
            ORDER BY u.created_at DESC
            LIMIT 50 OFFSET 0
            """
        )
        columns = [c.name for c in cursor.description]
        return Response([dict(zip(columns, row, strict=True)) for row in cursor.fetchall()])


@baseline
def summaries_per_user(request):
    """Seed's concurrent_user_operations: one aggregate query per requested user."""
    ids = [int(i) for i in request.GET.getlist("ids")][:1000]
    out = {}
    with connection.cursor() as cursor:
        for user_id in ids:
            cursor.execute(
                "SELECT count(id), sum(CASE WHEN completed THEN 1 ELSE 0 END), "
                "sum(CASE WHEN priority = 'high' THEN 1 ELSE 0 END) "
                "FROM tasks_task WHERE owner_id = %s",
                [user_id],
            )
            total, completed, high = cursor.fetchone()
            out[user_id] = {
                "total_tasks": total or 0,
                "completed": completed or 0,
                "high_priority": high or 0,
            }
    return Response(out)


@baseline
def stats_full_table(request):
    """Seed's get_task_statistics: aggregates over every task on every request."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT COUNT(*) AS total_tasks,
                   COUNT(CASE WHEN completed = true THEN 1 END) AS completed_tasks,
                   COUNT(CASE WHEN completed = false THEN 1 END) AS pending_tasks,
                   COUNT(CASE WHEN priority = 'high' THEN 1 END) AS high_priority_tasks,
                   COUNT(CASE WHEN priority = 'medium' THEN 1 END) AS medium_priority_tasks,
                   COUNT(CASE WHEN priority = 'low' THEN 1 END) AS low_priority_tasks,
                   COUNT(DISTINCT owner_id) AS active_users,
                   AVG(EXTRACT(EPOCH FROM (CASE WHEN completed = true
                       THEN updated_at - created_at END))) AS avg_completion_time_seconds
            FROM tasks_task
            """
        )
        columns = [c.name for c in cursor.description]
        return Response(dict(zip(columns, cursor.fetchone(), strict=True)))


@baseline
def search_ilike(request):
    """Seed's search_tasks_optimized: ILIKE on title OR description (no index can serve it)."""
    term = request.GET.get("q", "")
    tasks = (
        Task.objects.filter(owner=request.user)
        .extra(
            where=["(title ILIKE %s OR description ILIKE %s)"],
            params=[f"%{term}%", f"%{term}%"],
        )
        .order_by("-created_at")[:50]
    )
    return Response(TaskModelSerializer(tasks, many=True).data)


@baseline
def search_ilike_all(request):
    """The same ILIKE without the owner filter: what the seed's search costs table-wide."""
    term = request.GET.get("q", "")
    tasks = Task.objects.extra(
        where=["(title ILIKE %s OR description ILIKE %s)"],
        params=[f"%{term}%", f"%{term}%"],
    ).order_by("-created_at")[:50]
    return Response(TaskModelSerializer(tasks, many=True).data)


class TaskModelSerializer(serializers.ModelSerializer):
    class Meta:
        model = Task
        fields = "__all__"


class OffsetPagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 1000


class BaselineList(generics.ListAPIView):
    serializer_class = TaskModelSerializer
    pagination_class = OffsetPagination
    authentication_classes = [OrmTokenAuthentication]
    permission_classes = [IsAuthenticated]
    renderer_classes = [JSONRenderer]


class TaskListModelSerializer(BaselineList):
    """Plain ListAPIView + default ModelSerializer + page-number pagination (COUNT + OFFSET)."""

    def get_queryset(self):
        return Task.objects.filter(owner=self.request.user).order_by("-created_at", "-id")


class AllTasksOffset(BaselineList):
    """Staff list of every task, OFFSET pagination with COUNT(*) over the whole table."""

    def get_queryset(self):
        return Task.objects.select_related("owner").order_by("-created_at", "-id")
