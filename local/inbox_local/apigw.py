"""API Gateway HTTP API (payload 2.0) events, as the gateway hands them to a Lambda function."""

from __future__ import annotations

import base64
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl, urlencode


def http_api_event(
    method: str,
    path: str,
    *,
    route_path: str | None = None,
    path_parameters: dict[str, str] | None = None,
    query: dict[str, str] | str | None = None,
    headers: dict[str, str] | None = None,
    body: bytes | str | None = None,
    claims: dict[str, Any] | None = None,
    source_ip: str = "127.0.0.1",
) -> dict[str, Any]:
    """A payload-2.0 event. Bodies that are not UTF-8 are base64-encoded, as API Gateway does."""
    raw_query = query if isinstance(query, str) else urlencode(query or {})
    pairs = parse_qsl(raw_query, keep_blank_values=True)
    query_parameters: dict[str, str] = {}
    for key, value in pairs:
        query_parameters[key] = f"{query_parameters[key]},{value}" if key in query_parameters else value
    lowered = {key.lower(): value for key, value in (headers or {}).items()}
    encoded_body: str | None = None
    is_base64 = False
    if body is not None:
        raw = body.encode("utf-8") if isinstance(body, str) else body
        try:
            encoded_body = raw.decode("utf-8")
        except UnicodeDecodeError:
            encoded_body, is_base64 = base64.b64encode(raw).decode("ascii"), True
    now = time.time()
    request_context: dict[str, Any] = {
        "accountId": "000000000000",
        "apiId": "local",
        "domainName": "127.0.0.1",
        "domainPrefix": "local",
        "http": {
            "method": method.upper(),
            "path": path,
            "protocol": "HTTP/1.1",
            "sourceIp": source_ip,
            "userAgent": lowered.get("user-agent", ""),
        },
        "requestId": str(uuid.uuid4()),
        "routeKey": f"{method.upper()} {route_path or path}",
        "stage": "$default",
        "time": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now)),
        "timeEpoch": int(now * 1000),
    }
    if claims is not None:
        request_context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": request_context["routeKey"],
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": lowered,
        "requestContext": request_context,
        "isBase64Encoded": is_base64,
    }
    if query_parameters:
        event["queryStringParameters"] = query_parameters
    if path_parameters:
        event["pathParameters"] = path_parameters
    if "cookie" in lowered:
        event["cookies"] = [part.strip() for part in lowered["cookie"].split(";")]
    if encoded_body is not None:
        event["body"] = encoded_body
    return event


def lambda_context(function_name: str = "local", timeout_seconds: int = 20) -> Any:
    """A stand-in for the Lambda context object with the attributes Powertools reads."""
    deadline = time.monotonic() + timeout_seconds

    class _Context:
        aws_request_id = str(uuid.uuid4())
        invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{function_name}"
        memory_limit_in_mb = 256
        log_group_name = f"/aws/lambda/{function_name}"
        log_stream_name = "local"

        def __init__(self) -> None:
            self.function_name = function_name
            self.function_version = "$LATEST"

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return max(0, int((deadline - time.monotonic()) * 1000))

    return _Context()
