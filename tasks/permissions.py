"""Who may do what. Semantics (docs/api.md): anonymous 401; a staff-only endpoint or scope is 403
for other users; another user's *task* is 404 (its existence is not revealed); another user's
dashboard / task list is 403 (user ids are not secret: they appear on tasks)."""

from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import BasePermission


class IsStaff(BasePermission):
    message = "Staff only."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.user.is_staff)


def may_view_user(user, user_id: int) -> bool:
    return user.is_staff or user.pk == user_id


def require_staff(user, what: str) -> None:
    if not user.is_staff:
        raise PermissionDenied(f"Staff only: {what}.")


def require_self_or_staff(user, user_id: int) -> None:
    if not may_view_user(user, user_id):
        raise PermissionDenied("You may only view your own data.")
