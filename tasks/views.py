"""Sync DRF views: parse input, call one selector or service, return plain data (orjson).

The routes both servers serve are declared in tasks/routes.py; ``route_view`` derives their
DRF view (authentication, permissions, throttle, schema from the declaration; the handler
driven by tasks.serving.drive). The views below it are the sync-only routes.
"""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import parsers
from rest_framework import serializers as s
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from tasks import routes, selectors, services
from tasks.authentication import merged_token_read
from tasks.models import ApiToken
from tasks.pagination import with_next_link
from tasks.permissions import IsStaff, require_self_or_staff
from tasks.serializers import (
    PageParams,
    SearchParams,
    TaskBulkCreateSerializer,
    TaskOutSerializer,
    TaskWriteSerializer,
)
from tasks.serving import Call, drive
from tasks.throttling import ScopedThrottle

ANY_OBJECT = routes.ANY_OBJECT


def credential_response(data, **kwargs) -> Response:
    """A response carrying a secret: never cached, and marked so profilers keep no copy
    (taskproject.silk.CredentialMaskingSilkyMiddleware)."""
    response = Response(data, **kwargs)
    response["Cache-Control"] = "no-store"
    response.holds_credentials = True
    return response


class TokenView(APIView):
    """Username + password in, a new token out (each call issues one; see docs/api.md)."""

    name = "API token"

    # The credentials are in the body. A stale token in the Authorization header must not turn
    # the request into a 401 before the client can get a fresh token.
    authentication_classes = ()
    permission_classes = ()
    # Form bodies too, as DRF's ObtainAuthToken accepted them.
    parser_classes = (parsers.FormParser, parsers.MultiPartParser, parsers.JSONParser)
    # Throttled per client address: it is a password oracle.
    throttle_classes = [ScopedThrottle]
    throttle_scope = "auth"

    @extend_schema(
        description=(
            "Exchange a username and password for a new API token. The secret is in this "
            "response only (the server stores its SHA-256 digest); it expires at `expires_at`."
        ),
        auth=[],
        request=AuthTokenSerializer,
        responses=inline_serializer(
            "Token", {"token": s.CharField(), "expires_at": s.DateTimeField()}
        ),
    )
    def post(self, request):
        serializer = AuthTokenSerializer(data=request.data, context={"request": request})
        serializer.is_valid(raise_exception=True)
        token, secret = services.token_issue(user=serializer.validated_data["user"])
        return credential_response({"token": secret, "expires_at": token.expires_at})


class TokenRevokeView(APIView):
    @extend_schema(
        description="Revoke the token this request is authenticated with.",
        request=None,
        responses={204: None},
    )
    def post(self, request):
        if not isinstance(request.auth, ApiToken):
            detail = (
                "This request is not authenticated with a token (session login): nothing to "
                "revoke; see /api/auth/tokens/revoke-all/."
            )
            return Response({"detail": detail}, status=400)
        services.token_revoke(token=request.auth)
        return Response(status=204)


class TokensRevokeAllView(APIView):
    @extend_schema(
        description="Revoke every token of the authenticated user (the one in use included).",
        request=None,
        responses=inline_serializer("TokensRevoked", {"revoked": s.IntegerField()}),
    )
    def post(self, request):
        revoked = services.user_tokens_revoke_all(
            user_ids=[request.user.pk], reason=ApiToken.Revocation.ALL
        )
        return Response({"revoked": revoked})


# A GET authenticated by token runs one statement for authentication and its data
# (tasks.authentication.merged_token_read): ``merged_statement`` returns the route's merged
# statement for the request, or None where the view needs the separate statements. The data is
# in ``self.merged`` for the handler (None: take the normal path). A comment, not a docstring:
# drf-spectacular would publish a docstring as the description of every route's operation.
class MergedTokenReadView(APIView):
    def merged_statement(self, request, secret, **kwargs):
        return None

    def initial(self, request, *args, **kwargs):
        self.merged = None
        if request.method == "GET":
            self.merged = merged_token_read(
                request, lambda secret: self.merged_statement(request, secret, **kwargs)
            )
        super().initial(request, *args, **kwargs)


def route_view(route: routes.Route) -> type[APIView]:
    """The DRF view of ``route`` (tasks/routes.py)."""

    def merged_statement(self, request, secret, **kwargs):
        if route.merged is None:
            return None
        return route.merged(secret, request.query_params, kwargs)

    def handler(self, request, **kwargs):
        call = Call(request, request.user, kwargs, self.merged, body=lambda: request.data)
        return Response(drive(route.handle(call)))

    attrs = {
        "__module__": __name__,
        "__doc__": None,  # drf-spectacular would publish it as the operation's description
        "name": route.title,
        "merged_statement": merged_statement,
        route.method.lower(): extend_schema(**route.schema())(handler),
    }
    if route.staff_only:
        attrs["permission_classes"] = [IsStaff]
    if route.throttle_scope is not None:
        attrs["throttle_classes"] = [ScopedThrottle]
        attrs["throttle_scope"] = route.throttle_scope
    name = "".join(part.title() for part in route.name.split("-")) + "View"
    return type(name, (MergedTokenReadView,), attrs)


# The task list (routes.TASK_LIST), and task creation (sync server only).
class TaskListCreateView(route_view(routes.TASK_LIST)):
    @extend_schema(request=TaskWriteSerializer, responses={201: TaskOutSerializer})
    def post(self, request):
        serializer = TaskWriteSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        task = services.task_create(owner=request.user, data=serializer.validated_data)
        return Response(selectors.task_to_dict(task), status=201)


class TaskDetailView(APIView):
    name = "Task"

    @extend_schema(responses=TaskOutSerializer)
    def get(self, request, pk):
        return Response(selectors.task_to_dict(selectors.task_get(user=request.user, pk=pk)))

    def _update(self, request, pk, *, partial):
        task = selectors.task_get(user=request.user, pk=pk)
        serializer = TaskWriteSerializer(data=request.data, partial=partial)
        serializer.is_valid(raise_exception=True)
        task = services.task_update(task=task, data=serializer.validated_data, replace=not partial)
        return Response(selectors.task_to_dict(task))

    @extend_schema(request=TaskWriteSerializer, responses=TaskOutSerializer)
    def put(self, request, pk):
        return self._update(request, pk, partial=False)

    @extend_schema(request=TaskWriteSerializer, responses=TaskOutSerializer)
    def patch(self, request, pk):
        return self._update(request, pk, partial=True)

    @extend_schema(responses={204: None})
    def delete(self, request, pk):
        if not services.task_delete(user=request.user, pk=pk):
            raise NotFound("No Task matches the given query.")
        return Response(status=204)


class TaskBulkCreateView(APIView):
    name = "Bulk create tasks"
    # Up to 1000 rows per request: rate-limited per user so one client cannot flood the table.
    throttle_classes = [ScopedThrottle]
    throttle_scope = "bulk"

    @extend_schema(
        request=TaskBulkCreateSerializer,
        responses={
            201: inline_serializer(
                "BulkCreated",
                {"created": s.IntegerField(), "results": TaskOutSerializer(many=True)},
            )
        },
    )
    def post(self, request):
        serializer = TaskBulkCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        tasks = services.tasks_bulk_create(
            owner=request.user, items=serializer.validated_data["tasks"]
        )
        results = [selectors.task_to_dict(task) for task in tasks]
        return Response({"created": len(results), "results": results}, status=201)


class TaskSearchView(APIView):
    name = "Search tasks"

    @extend_schema(parameters=[SearchParams], responses=ANY_OBJECT)
    def get(self, request):
        params = SearchParams.parse(request.query_params)
        return Response(
            selectors.task_search(
                owner_id=request.user.pk,
                q=params["q"],
                mode=params["mode"],
                limit=params["page_size"],
            )
        )


class UserListView(APIView):
    name = "Users"
    permission_classes = [IsStaff]

    @extend_schema(parameters=[PageParams], responses=ANY_OBJECT)
    def get(self, request):
        params = PageParams.parse(request.query_params)
        return Response(with_next_link(request, selectors.user_list(**params)))


class UserDashboardView(APIView):
    name = "User dashboard"

    @extend_schema(responses=ANY_OBJECT)
    def get(self, request, pk):
        require_self_or_staff(request.user, pk)
        return Response(selectors.user_dashboard(user_id=pk))
