"""The HTTP API's single resolver: routes, auth, one error shape and the OpenAPI document.

Domain code raises inbox_crm.core.errors exceptions; this module is the one place that turns them into
HTTP statuses with the body ``{"error": {"code", "message", "details"}}``.
"""

from __future__ import annotations

import base64
import binascii
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

from inbox_crm.core import errors, safe_json
from inbox_crm.core.observability import logger
from inbox_crm.http.errors_doc import error_response

API_TITLE = "Inbox CRM API"
API_VERSION = "1.0.0"

app = APIGatewayHttpResolver(enable_validation=True)

# Bodies are small JSON; an upload carries its file as base64 (5 MB of file: ~6.7 MB of body).
MAX_BODY_BYTES = 1024 * 1024
_BODY_LIMITS = {"/v1/uploads": 7 * 1024 * 1024}

_STATUS_BY_ERROR: dict[type[errors.DomainError], HTTPStatus] = {
    errors.InvalidInput: HTTPStatus.BAD_REQUEST,
    errors.Unauthorized: HTTPStatus.UNAUTHORIZED,
    errors.Forbidden: HTTPStatus.FORBIDDEN,
    errors.NotFound: HTTPStatus.NOT_FOUND,
    errors.Conflict: HTTPStatus.CONFLICT,
    errors.PreconditionFailed: HTTPStatus.PRECONDITION_FAILED,
    errors.IdempotencyKeyReused: HTTPStatus.UNPROCESSABLE_ENTITY,
    errors.Unavailable: HTTPStatus.SERVICE_UNAVAILABLE,
    errors.Unprocessable: HTTPStatus.UNPROCESSABLE_ENTITY,
}


@app.exception_handler(errors.DomainError)
def _domain_error(error: errors.DomainError) -> Response[str]:
    status = next(
        (status for kind, status in _STATUS_BY_ERROR.items() if isinstance(error, kind)),
        HTTPStatus.BAD_REQUEST,
    )
    return error_response(status, error.code, error.message, error.details)


@app.exception_handler(RequestValidationError)
def _validation_error(error: RequestValidationError) -> Response[str]:
    details = [
        {
            "loc": [part for part in item.get("loc", ()) if part != "body" or len(item.get("loc", ())) == 1],
            "msg": item.get("msg") or item.get("type", "invalid"),
            "type": item.get("type", "invalid"),
        }
        for item in error.errors()
    ]
    if any(item["type"] == "json_invalid" for item in details):
        return error_response(HTTPStatus.BAD_REQUEST, "malformed_json", "The body is not valid JSON", details)
    return error_response(
        HTTPStatus.UNPROCESSABLE_ENTITY, "validation_failed", "Some fields are invalid", details
    )


@app.exception_handler(RequestUnsupportedContentType)
def _unsupported_content_type(_: RequestUnsupportedContentType) -> Response[str]:
    return _not_json()


def _not_json() -> Response[str]:
    return error_response(
        HTTPStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type", "Send the body as application/json"
    )


@app.exception_handler(Exception)
def _unexpected(error: Exception) -> Response[str]:
    """The catch-all: a bug or an outage answers our 500 body, never API Gateway's bare one. The
    correlation id (the request id) is in the body and in the log line with the stack trace."""
    correlation_id = logger.get_correlation_id()
    logger.exception("unexpected error in the API", extra={"error": type(error).__name__})
    return error_response(
        HTTPStatus.INTERNAL_SERVER_ERROR,
        "internal_error",
        "Something went wrong on our side; quote the correlation id if it persists",
        {"correlation_id": correlation_id},
    )


def resolve(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The API's entry: refuse bodies Powertools would crash on (not JSON, not UTF-8, too large, too
    deep, lone surrogates) with our 4xx, then route; anything unexpected is our 500."""
    try:
        refusal, event = _checked_body(event)
        return _as_lambda(refusal) if refusal is not None else app.resolve(event, context)
    except Exception as error:  # outside a route (the checks, Powertools itself): same answer
        return _as_lambda(_unexpected(error))


def _checked_body(event: dict[str, Any]) -> tuple[Response[str] | None, dict[str, Any]]:
    """(a refusal, or None and the event with its body decoded for Powertools)."""
    body = event.get("body")
    if body in (None, ""):
        return None, event
    text = str(body)
    try:
        raw = base64.b64decode(text, validate=True) if event.get("isBase64Encoded") else text.encode()
    except (binascii.Error, UnicodeEncodeError):
        refusal = error_response(HTTPStatus.BAD_REQUEST, "malformed_body", "The body could not be decoded")
        return refusal, event
    limit = _BODY_LIMITS.get(event.get("rawPath", ""), MAX_BODY_BYTES)
    if len(raw) > limit:
        return error_response(
            HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
            "payload_too_large",
            f"The body is larger than {limit} bytes",
            {"max_bytes": limit},
        ), event
    method = (event.get("requestContext") or {}).get("http", {}).get("method", "")
    if method not in {"POST", "PUT", "PATCH"}:
        return None, event
    content_type = (event.get("headers") or {}).get("content-type", "")
    if content_type.split(";")[0].strip().lower() != "application/json":
        return _not_json(), event
    try:
        value = safe_json.loads(raw)
    except safe_json.UnreadableJson as unreadable:
        return error_response(HTTPStatus.BAD_REQUEST, unreadable.code, unreadable.message), event
    where = safe_json.lone_surrogate_at(value)
    if where is not None:
        detail = {"loc": where, "msg": "text contains an invalid unicode character", "type": "value_error"}
        return error_response(
            HTTPStatus.UNPROCESSABLE_ENTITY, "validation_failed", "Some fields are invalid", [detail]
        ), event
    return None, {**event, "body": raw.decode("utf-8"), "isBase64Encoded": False}


def _as_lambda(response: Response[str]) -> dict[str, Any]:
    return {
        "statusCode": response.status_code,
        "headers": {"Content-Type": content_types.APPLICATION_JSON},
        "body": response.body,
        "isBase64Encoded": False,
    }


def _register_routes() -> None:
    from inbox_crm.contacts import routes as routes_contacts
    from inbox_crm.contacts import routes_bulk, routes_tags
    from inbox_crm.flows import routes as routes_flows
    from inbox_crm.identity import routes as routes_merge
    from inbox_crm.inbox import routes as routes_conversations
    from inbox_crm.ingest import routes as routes_webhooks
    from inbox_crm.media import routes as routes_uploads
    from inbox_crm.outbound import routes_broadcasts, routes_messages
    from inbox_crm.workspaces import routes_channels, routes_me

    for module in (
        routes_me,
        routes_channels,
        routes_conversations,
        routes_messages,
        routes_uploads,
        routes_broadcasts,
        routes_bulk,
        routes_contacts,
        routes_tags,
        routes_merge,
        routes_flows,
        routes_webhooks,
    ):
        app.include_router(module.router)


def openapi_json() -> str:
    return app.get_openapi_json_schema(
        title=API_TITLE,
        version=API_VERSION,
        description="Inbox CRM: omnichannel inbox and contact CRM. All routes but this document need a JWT.",
        security_schemes={"bearer": HTTPBearer(bearerFormat="JWT")},
        security=[{"bearer": []}],
    )


@app.get("/v1/openapi.json", include_in_schema=False)
def _openapi_document() -> Response[str]:
    return Response(status_code=200, content_type=content_types.APPLICATION_JSON, body=openapi_json())


@app.not_found
def _not_found(_: Exception) -> Response[str]:
    return error_response(HTTPStatus.NOT_FOUND, "route_not_found", "No such route")


_register_routes()
