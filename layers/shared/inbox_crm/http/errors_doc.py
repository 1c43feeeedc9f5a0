"""The API's one error shape, for responses and for the OpenAPI document."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools.event_handler import Response, content_types

from inbox_crm.http.schemas import ErrorBody


def error_response(status: int, code: str, message: str, details: Any = None) -> Response[str]:
    body = {"error": {"code": code, "message": message, "details": details}}
    return Response(
        status_code=int(status), content_type=content_types.APPLICATION_JSON, body=json.dumps(body)
    )


def error_responses(*statuses: int) -> dict[int, Any]:
    """OpenAPI entries for the error statuses a route can answer, each with the error model."""
    descriptions = {
        400: "Malformed request",
        401: "Missing or invalid token",
        403: "Your role may not do this, or you are not an active member (not_a_member, member_disabled)",
        404: "Unknown id, or another workspace's",
        409: "Conflicts with the current state",
        412: "Stale version",
        413: "The body is too large",
        415: "Unsupported content type",
        422: "Invalid input; details name the failing fields",
        500: "Unexpected error; details.correlation_id identifies the request in our logs",
        503: "A dependency (Meta) could not be asked; try again later",
    }
    return {
        status: {"description": descriptions[status], "content": {"application/json": {"model": ErrorBody}}}
        for status in (*statuses, 500)  # every route may answer the catch-all's 500
    }


def documented(status: int, model: Any, description: str, *errors: int) -> dict[int, Any]:
    """Every status a route answers, each with a content model: Powertools drops an undeclared
    success response from the document once any other status is listed."""
    success: dict[str, Any] = {"description": description}
    if model is not None:
        success["content"] = {"application/json": {"model": model}}
    return {status: success, **error_responses(*errors)}
