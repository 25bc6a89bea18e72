"""OpenAPI schema generation: drf-spectacular's AutoSchema plus the error answers we give.

drf-spectacular documents only the success response. Clients (and schemathesis, which checks
every received status against the schema) also need the errors every view can answer with, and
their JSON shapes: these are derived from the view itself (its permissions, path parameters,
request body, throttle) so a new view is documented correctly without a per-view annotation.
"""

from __future__ import annotations

from drf_spectacular import openapi
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import force_instance
from rest_framework import serializers

from tasks.serializers import StrictMixin

DETAIL = {
    "type": "object",
    "properties": {"detail": {"type": "string"}},
    "required": ["detail"],
}
# {"field": ["message", ...]}, nested for list items ({"tasks": {"1": {"title": [...]}}}), or
# {"detail": "..."} for a malformed body.
FIELD_ERRORS = {
    "type": "object",
    "additionalProperties": True,
    "description": "Field name -> list of messages (nested by index for list items), or detail.",
}


def _error(description: str, schema: dict = DETAIL) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


class AutoSchema(openapi.AutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        view = self.view
        errors = {"400": _error("Invalid input; names each bad field.", FIELD_ERRORS)}
        if view.permission_classes:
            errors["401"] = _error("No or invalid credentials (WWW-Authenticate: Token).")
            errors["403"] = _error("Not allowed for this user (e.g. staff only).")
        if "{" in self.path:
            errors["404"] = _error("No such object, or not yours.")
        if self.method in ("POST", "PUT", "PATCH"):
            errors["413"] = _error("Request body larger than MAX_REQUEST_BODY_BYTES.")
            errors["415"] = _error("Unsupported media type (send application/json).")
        if getattr(view, "throttle_scope", None) and getattr(view, "throttle_classes", None):
            errors["429"] = _error("Rate limited; see the Retry-After header.")
        errors["503"] = _error("Database temporarily unavailable; see the Retry-After header.")
        return {
            **responses,
            **{code: body for code, body in errors.items() if code not in responses},
        }

    def _map_basic_serializer(self, serializer, direction):
        schema = super()._map_basic_serializer(serializer, direction)
        instance = force_instance(serializer)
        if isinstance(instance, StrictMixin):
            # Unknown fields are a 400 (StrictMixin): say so, so clients and fuzzers know.
            schema["additionalProperties"] = False
        for name, field in instance.fields.items():
            prop = schema.get("properties", {}).get(name)
            if isinstance(field, serializers.ListSerializer) and prop is not None:
                # drf-spectacular leaves a nested list's bounds out of the schema.
                if field.min_length is not None:
                    prop["minItems"] = field.min_length
                if field.max_length is not None:
                    prop["maxItems"] = field.max_length
        return schema


class HashedTokenScheme(OpenApiAuthenticationExtension):
    """tasks.authentication's scheme: same name and header as DRF's token scheme (clients and
    generated SDKs keep working), described as what it now is."""

    target_class = "tasks.authentication.FastTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": (
                "`Authorization: Token <secret>`, the secret from POST /api/auth/token/ (shown "
                "once; the server keeps only its SHA-256). Tokens expire (API_TOKEN_TTL) and "
                "can be revoked: POST /api/auth/token/revoke/, /api/auth/tokens/revoke-all/."
            ),
        }
