"""Calls the API function's real Lambda handler in-process with API Gateway v2 events."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from inbox_local.apigw import http_api_event, lambda_context
from support.world import Member, World


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    text: str

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


class ApiClient:
    def __init__(self, world: World) -> None:
        self.world = world

    def call(
        self,
        method: str,
        path: str,
        *,
        as_: Member | str | None = "alpha_owner",
        body: Any = None,
        raw_body: str | bytes | None = None,
        query: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        from api_handler import lambda_handler

        member = self.world[as_] if isinstance(as_, str) else as_
        request_headers = (
            {"content-type": "application/json"} if body is not None or raw_body is not None else {}
        )
        request_headers.update(headers or {})
        payload = raw_body if raw_body is not None else (json.dumps(body) if body is not None else None)
        event = http_api_event(
            method,
            path,
            query=query,
            headers=request_headers,
            body=payload,
            claims=member.claims if member else None,
        )
        result = lambda_handler(event, lambda_context("ApiFunction"))
        return Reply(result["statusCode"], result.get("headers") or {}, result.get("body") or "")

    def get(self, path: str, **kwargs: Any) -> Reply:
        return self.call("GET", path, **kwargs)

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Reply:
        return self.call("POST", path, body=body, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Reply:
        return self.call("DELETE", path, **kwargs)
