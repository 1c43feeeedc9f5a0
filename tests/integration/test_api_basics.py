"""GET /v1/me and channel registration through the API function's real handler (moto-backed)."""

from __future__ import annotations

import io
import json
import re

import pytest

from inbox_local.graph_standin import GraphStandIn
from support.api import ApiClient


def test_me_names_user_workspace_and_role(api: ApiClient) -> None:
    reply = api.get("/v1/me", as_="alpha_agent")
    assert reply.status == 200
    body = reply.json()
    assert body["user"] == {"id": "usr_alpha_agent", "email": "agent@alpha.example", "name": "Agent Alpha"}
    assert body["workspace"]["id"] == "ws_alpha"
    assert body["workspace"]["name"] == "Tienda Alpha"
    assert body["role"] == "agent"
    # The web app shows only what the role may use: an agent reads flows but may not manage channels.
    assert "flows.read" in body["permissions"]
    assert "conversations.read" in body["permissions"]
    assert "channels.manage" not in body["permissions"]
    assert "channels.manage" in api.get("/v1/me", as_="alpha_owner").json()["permissions"]


def test_request_without_claims_is_401_with_error_shape(api: ApiClient) -> None:
    reply = api.get("/v1/me", as_=None)
    assert reply.status == 401
    assert reply.json()["error"]["code"] == "unauthorized"


def test_token_of_a_user_missing_from_the_workspace_is_403(api: ApiClient) -> None:
    stranger = api.world["alpha_agent"]
    stranger = type(stranger)("ws_alpha", "usr_nobody", "agent", "nobody@x.example")
    reply = api.get("/v1/me", as_=stranger)
    assert reply.status == 403


ALPHA_PAGE = "104857600123"


@pytest.fixture
def page(meta: GraphStandIn) -> GraphStandIn:
    """A Page whose token both workspaces' owners hold (an agency and its client, say)."""
    meta.grant("alpha-page-token", "messenger", ALPHA_PAGE, "Tienda Alpha (Facebook)")
    meta.grant("alpha-page-token", "whatsapp", ALPHA_PAGE, "+52 55 1048 5760", waba_id="300000000000001")
    return meta


def _register(api: ApiClient, as_: str = "alpha_owner", **overrides: str):
    body = {
        "platform": "messenger",
        "account_id": ALPHA_PAGE,
        "name": "Tienda Alpha (Facebook)",
        "access_token": "alpha-page-token",
    }
    body.update(overrides)
    return api.post("/v1/channels", body, as_=as_)


@pytest.mark.parametrize("role", ["alpha_owner", "alpha_manager"])
def test_owner_and_manager_register_and_list_channels(api: ApiClient, page: GraphStandIn, role: str) -> None:
    created = _register(api, as_=role)
    assert created.status == 201, created.text
    channel = created.json()
    assert channel["platform"] == "messenger"
    assert channel["account_id"] == ALPHA_PAGE
    assert channel["status"] == "active"
    assert channel["silent"] is False
    assert "alpha-page-token" not in created.text

    listed = api.get("/v1/channels", as_="alpha_agent")
    assert listed.status == 200
    assert [item["id"] for item in listed.json()["items"]] == [channel["id"]]
    assert "alpha-page-token" not in listed.text


def test_agent_creating_a_channel_is_403(api: ApiClient, page: GraphStandIn) -> None:
    reply = _register(api, as_="alpha_agent")
    assert reply.status == 403
    error = reply.json()["error"]
    assert error["code"] == "forbidden"
    assert error["details"]["allowed_roles"] == ["manager", "owner"]
    assert api.get("/v1/channels").json()["items"] == []


def test_one_account_belongs_to_one_workspace(api: ApiClient, page: GraphStandIn) -> None:
    assert _register(api).status == 201
    again_here = _register(api)
    elsewhere = _register(api, as_="beta_owner")
    assert again_here.status == 409
    assert again_here.json()["error"]["code"] == "channel_already_connected"
    assert elsewhere.status == 409
    assert elsewhere.json()["error"]["code"] == "channel_unavailable"
    # the other workspace is never revealed
    assert "ws_alpha" not in elsewhere.text
    assert "Alpha" not in elsewhere.text
    # the same id on another platform is another account
    assert _register(api, platform="whatsapp").status == 201


def test_another_workspaces_channel_is_404_and_untouched(api: ApiClient, page: GraphStandIn) -> None:
    channel_id = _register(api).json()["id"]
    reply = api.delete(f"/v1/channels/{channel_id}", as_="beta_owner")
    assert reply.status == 404
    assert reply.json()["error"]["code"] == "not_found"
    assert [c["id"] for c in api.get("/v1/channels").json()["items"]] == [channel_id]


def test_removing_a_channel_frees_its_account(api: ApiClient, page: GraphStandIn) -> None:
    channel_id = _register(api).json()["id"]
    assert api.delete(f"/v1/channels/{channel_id}", as_="alpha_agent").status == 403
    reply = api.delete(f"/v1/channels/{channel_id}", as_="alpha_manager")
    assert reply.status == 204
    assert api.get("/v1/channels").json()["items"] == []
    assert api.delete(f"/v1/channels/{channel_id}").status == 404
    assert _register(api, as_="beta_owner").status == 201


@pytest.mark.parametrize(
    ("body", "failing_field"),
    [
        ({"platform": "telegram", "account_id": "1", "name": "x"}, "platform"),
        ({"platform": "messenger", "account_id": "12ab", "name": "x"}, "account_id"),
        ({"platform": "messenger", "account_id": "1", "name": ""}, "name"),
        ({"platform": "messenger", "account_id": "1"}, "name"),
        ({"platform": "messenger", "account_id": "1", "name": "x", "extra": 1}, "extra"),
        ({"platform": "messenger", "account_id": "1", "name": "bad \ud83d"}, "name"),
        ({"platform": "messenger", "account_id": "1", "name": "x"}, "access_token"),
        ({"platform": "messenger", "account_id": "1", "name": "x", "access_token": ""}, "access_token"),
    ],
)
def test_invalid_channel_is_422_naming_the_field(api: ApiClient, body: dict, failing_field: str) -> None:
    reply = api.post("/v1/channels", raw_body=json.dumps(body))
    assert reply.status == 422, reply.text
    error = reply.json()["error"]
    assert error["code"] == "validation_failed"
    assert any(failing_field in detail["loc"] for detail in error["details"]), error


def test_malformed_json_is_400(api: ApiClient) -> None:
    reply = api.post("/v1/channels", raw_body="{not json", headers={"content-type": "application/json"})
    assert reply.status == 400
    assert reply.json()["error"]["code"] == "malformed_json"


@pytest.mark.parametrize(
    "content_type", ["text/plain", "multipart/form-data", "application/x-www-form-urlencoded"]
)
def test_non_json_body_is_415(api: ApiClient, content_type: str) -> None:
    reply = api.post("/v1/channels", raw_body="a=b", headers={"content-type": content_type})
    assert reply.status == 415
    assert reply.json()["error"]["code"] == "unsupported_media_type"


def test_unknown_route_is_404_with_error_shape(api: ApiClient) -> None:
    reply = api.get("/v1/nothing-here")
    assert reply.status == 404
    assert reply.json()["error"]["code"] == "route_not_found"


def test_openapi_document_lists_the_routes_with_error_models(api: ApiClient) -> None:
    reply = api.get("/v1/openapi.json", as_=None)
    assert reply.status == 200
    spec = reply.json()
    assert spec["openapi"].startswith("3.")
    post = spec["paths"]["/v1/channels"]["post"]
    assert set(post["responses"]) >= {"201", "403", "409", "422"}
    assert post["responses"]["409"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorBody")
    assert "/v1/me" in spec["paths"]


# ------------------------------------------------------------------ bad input on every route (issue 10)


def _routes(api: ApiClient) -> list[tuple[str, str]]:
    """Every documented route, its path parameters filled with a well-formed id of nothing."""
    spec = api.get("/v1/openapi.json", as_=None).json()
    return [
        (method.upper(), re.sub(r"\{[^}]+\}", "ctc_01jdx0000000000000000000", path))
        for path, operations in spec["paths"].items()
        for method in operations
    ]


BAD_BODIES = {
    "invalid-utf8": b'{"name": "caf\xe9", "text": "\xff\xfe"}',
    "deep-array": b"[" * 100_000 + b"]" * 100_000,
    "deep-object": b'{"a":' * 40 + b"1" + b"}" * 40,
    "too-large": b'{"name": "' + b"x" * (8 * 1024 * 1024) + b'"}',
    "lone-surrogates": b'{"name": "\\ud83d", "text": "\\udc00", "first_name": "\\ud800", "\\udfff": 1}',
    "empty": b"",
    "null": b"null",
    "array": b"[]",
    "number": b"1e999999",
    "not-json": b"{'single': 'quotes'}",
}


@pytest.mark.parametrize("kind", list(BAD_BODIES))
def test_every_route_answers_bad_bodies_with_a_typed_4xx(api: ApiClient, kind: str) -> None:
    answered: dict[str, tuple[int, str]] = {}
    for method, path in _routes(api):
        reply = api.call(
            method, path, raw_body=BAD_BODIES[kind], headers={"content-type": "application/json"}
        )
        code = reply.json()["error"]["code"] if reply.status >= 400 else ""
        answered[f"{method} {path}"] = (reply.status, code)
    bad = {
        route: answer for route, answer in answered.items() if not 400 <= answer[0] < 500 and answer[0] != 200
    }
    assert not bad, bad
    # Bodies refused before routing get the same answer on every route that takes a body.
    expected = {
        "invalid-utf8": (400, "invalid_utf8"),
        "deep-array": (400, "too_deep"),
        "deep-object": (400, "too_deep"),
        "too-large": (413, "payload_too_large"),
        "lone-surrogates": (422, "validation_failed"),
    }.get(kind)
    if expected:
        takes_body = [
            answer for route, answer in answered.items() if route.split()[0] in {"POST", "PUT", "PATCH"}
        ]
        assert set(takes_body) == {expected}


@pytest.mark.parametrize(
    ("content_type", "body"),
    [("text/html", b"<script>alert(1)</script>"), ("application/xml", b"<a/>"), ("", b"{}")],
)
def test_every_route_refuses_a_wrong_content_type(api: ApiClient, content_type: str, body: bytes) -> None:
    for method, path in _routes(api):
        if method in {"POST", "PUT", "PATCH"}:
            reply = api.call(method, path, raw_body=body, headers={"content-type": content_type})
            assert (reply.status, reply.json()["error"]["code"]) == (415, "unsupported_media_type"), path


def test_odd_path_and_query_values_are_a_4xx(api: ApiClient) -> None:
    odd_ids = ["a" * 3000, "%ff%fe", "..%2F..", "ctc_' OR 1=1 --", " "]
    for method, path in _routes(api):
        if method != "GET":
            continue
        for odd in odd_ids:
            reply = api.get(path.replace("ctc_01jdx0000000000000000000", odd))
            assert 400 <= reply.status < 500 or reply.status == 200, (path, odd, reply.status, reply.text)
        reply = api.get(path, query={"limit": "-1", "cursor": "\x00%%%", "q": "x" * 5000, "status": "¿?"})
        assert 400 <= reply.status < 500 or reply.status == 200, (path, reply.status, reply.text)


def test_an_unexpected_error_is_our_500_with_a_correlation_id(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inbox_crm.core.observability import logger
    from inbox_crm.workspaces import routes_me

    log = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", log)

    def broken(*_: object) -> None:
        raise RuntimeError("the table is on fire")

    monkeypatch.setattr(routes_me, "load_membership", broken)
    reply = api.get("/v1/me")
    assert reply.status == 500
    error = reply.json()["error"]
    assert error["code"] == "internal_error"
    assert "on fire" not in reply.text  # internals stay in the log
    correlation_id = error["details"]["correlation_id"]
    assert correlation_id
    logged = [json.loads(line) for line in log.getvalue().splitlines() if line.startswith("{")]
    [record] = [line for line in logged if line.get("correlation_id") == correlation_id]
    assert "RuntimeError: the table is on fire" in record["exception"]
    assert "Traceback" in record["exception"] or "routes_me.py" in record["exception"]
