"""The local stack's gateway: template routes, the emulated JWT authorizer, the SPA and Swagger UI."""

from __future__ import annotations

import http.client
import secrets
from urllib.parse import urlsplit

import pytest

from e2e.local_stack_support import LocalStackClient
from inbox_local import demo
from inbox_local.tokens import mint_token

pytestmark = pytest.mark.e2e


def _account_id() -> str:
    return str(10**14 + secrets.randbelow(10**14))


def test_owner_token_reads_me(local_stack: LocalStackClient) -> None:
    reply = local_stack.call("GET", "/v1/me", role="owner")

    assert reply.status_code == 200
    body = reply.json()
    assert body["workspace"]["id"] == demo.DEMO_WORKSPACE_ID
    assert body["user"]["id"] == "usr_demo_owner"
    assert body["role"] == "owner"


def _bad_authorization(kind: str, stack: LocalStackClient) -> dict[str, str]:
    if kind == "missing":
        return {}
    if kind == "garbage":
        return {"Authorization": "Bearer not-a-jwt"}
    if kind == "expired":
        return {"Authorization": "Bearer " + stack.token("owner", hours=-1)}
    return {"Authorization": "Bearer " + mint_token("owner", secret="another-secret-of-32-bytes-or-more!")}


@pytest.mark.parametrize("kind", ["missing", "garbage", "expired", "foreign-signature"])
def test_authorized_routes_refuse_bad_tokens_without_invoking(
    local_stack: LocalStackClient, kind: str
) -> None:
    headers = _bad_authorization(kind, local_stack)
    invocations_before = local_stack.status()["functions"]["ApiFunction"]["invocations"]

    reply = local_stack.call("GET", "/v1/me", headers=headers)

    assert reply.status_code == 401
    assert reply.json() == {"message": "Unauthorized"}
    assert local_stack.status()["functions"]["ApiFunction"]["invocations"] == invocations_before


def test_agent_cannot_register_a_channel(local_stack: LocalStackClient) -> None:
    reply = local_stack.call(
        "POST",
        "/v1/channels",
        role="agent",
        json={
            "platform": "messenger",
            "account_id": _account_id(),
            "name": "Agent page",
            "access_token": "t",
        },
    )

    assert reply.status_code == 403


def test_channel_of_one_workspace_is_invisible_to_another(local_stack: LocalStackClient) -> None:
    account_id = _account_id()
    token = local_stack.grant("instagram", account_id)
    created = local_stack.call(
        "POST",
        "/v1/channels",
        role="owner",
        json={"platform": "instagram", "account_id": account_id, "name": "@isolation", "access_token": token},
    )
    assert created.status_code == 201
    channel_id = created.json()["id"]
    other_owner = local_stack.token("owner", workspace_id=demo.OTHER_WORKSPACE_ID)

    foreign_delete = local_stack.call("DELETE", f"/v1/channels/{channel_id}", token=other_owner)

    assert foreign_delete.status_code == 404
    listed = local_stack.call("GET", "/v1/channels", role="owner").json()["items"]
    assert channel_id in {channel["id"] for channel in listed}
    assert local_stack.call("DELETE", f"/v1/channels/{channel_id}", role="owner").status_code == 204


@pytest.mark.parametrize(("method", "path"), [("GET", "/nowhere"), ("PUT", "/v1/me"), ("GET", "/v1/me/x")])
def test_unrouted_requests_get_http_api_404(local_stack: LocalStackClient, method: str, path: str) -> None:
    reply = local_stack.call(method, path, role="owner")

    assert reply.status_code == 404
    assert reply.json() == {"message": "Not Found"}


def test_openapi_document_needs_no_token(local_stack: LocalStackClient) -> None:
    reply = local_stack.call("GET", "/v1/openapi.json")

    assert reply.status_code == 200
    assert "/v1/me" in reply.json()["paths"]


def test_swagger_ui_is_served_offline(local_stack: LocalStackClient) -> None:
    page = local_stack.call("GET", "/docs")
    script = local_stack.call("GET", "/docs/swagger-ui-bundle.js")

    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "/v1/openapi.json" in page.text
    assert script.status_code == 200
    assert "SwaggerUIBundle" in script.text


@pytest.mark.parametrize("path", ["/", "/app/inbox/conversation-1"])
def test_web_app_is_served_at_the_root_and_its_client_routes(
    local_stack: LocalStackClient, path: str
) -> None:
    reply = local_stack.call("GET", path)

    assert reply.status_code == 200
    assert reply.headers["Content-Type"].startswith("text/html")
    assert "<html" in reply.text.lower()


def test_bodies_over_ten_megabytes_are_refused_unread(local_stack: LocalStackClient) -> None:
    address = urlsplit(local_stack.url)
    connection = http.client.HTTPConnection(address.hostname, address.port, timeout=10)
    connection.putrequest("POST", "/webhooks/meta")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(10 * 1024 * 1024 + 1))
    connection.endheaders()

    reply = connection.getresponse()

    assert reply.status == 413
    connection.close()


def test_schedule_trigger_invokes_the_scheduled_function(local_stack: LocalStackClient) -> None:
    schedules = local_stack.status()["schedules"]
    assert schedules, "template.yaml declares at least one schedule"
    function = schedules[0]["function"]

    reply = local_stack.call("POST", f"/_local/schedules/{function}")

    # 200 when the handler succeeds, 500 with the reason when it fails: either way it was invoked.
    assert reply.status_code in (200, 500)
    body = reply.json()
    assert body["function"] == function
    assert body["results"][0]["schedule"] == schedules[0]["name"]
    fired = next(s for s in local_stack.status()["schedules"] if s["name"] == schedules[0]["name"])
    assert fired["fires"] >= 1


def test_schedule_trigger_of_an_unknown_function_is_404(local_stack: LocalStackClient) -> None:
    reply = local_stack.call("POST", "/_local/schedules/NoSuchFunction")

    assert reply.status_code == 404
    assert "schedules" in reply.json()
