"""Issue 2: the cost of GET /v1/me and of a channel lookup by account id."""

from __future__ import annotations

from typing import Any

import boto3

from bench.meter import measure


def run() -> list[dict[str, Any]]:
    from api_handler import lambda_handler

    from inbox_crm.core.settings import get_settings
    from inbox_crm.store.models import User, Workspace
    from inbox_crm.workspaces import channels
    from inbox_crm.workspaces.routing import forget_routes, resolve_route
    from inbox_local.apigw import http_api_event, lambda_context

    Workspace(*Workspace.key("ws_bench"), workspace_id="ws_bench", name="Bench").save()
    User(
        *User.key("ws_bench", "usr_b"), workspace_id="ws_bench", user_id="usr_b", email="b@x", role="owner"
    ).save()
    channels.register_channel("ws_bench", "messenger", "123456789", "Bench page", "usr_b")
    claims = {"sub": "usr_b", "custom:workspace_id": "ws_bench", "custom:role": "owner"}
    context = lambda_context("ApiFunction")
    table = get_settings().table_name
    dynamodb = boto3.client("dynamodb")

    def put_item() -> None:
        dynamodb.put_item(TableName=table, Item={"pk": {"S": "BENCH"}, "sk": {"S": "PUT"}})

    def get_me() -> None:
        reply = lambda_handler(http_api_event("GET", "/v1/me", claims=claims), context)
        assert reply["statusCode"] == 200

    def cold_lookup() -> None:
        forget_routes()
        assert resolve_route("messenger", "123456789") is not None

    def warm_lookup() -> None:
        assert resolve_route("messenger", "123456789") is not None

    return [
        measure("put_item_reference", put_item, runs=50),
        measure("GET /v1/me", get_me, runs=50),
        measure("channel lookup by account id (cold cache)", cold_lookup, runs=50),
        measure("channel lookup by account id (warm container cache)", warm_lookup, runs=50),
    ]
