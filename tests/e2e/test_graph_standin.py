"""The Graph API stand-in, started in-process on a free port."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from inbox_local.graph_standin import GraphStandIn

pytestmark = pytest.mark.e2e

PAGE_TOKEN = "page-token-that-must-not-be-recorded"
AUTH = {"Authorization": f"Bearer {PAGE_TOKEN}"}


@pytest.fixture
def graph() -> Iterator[GraphStandIn]:
    standin = GraphStandIn(port=0).start()
    yield standin
    standin.stop()


def _recorded(graph: GraphStandIn) -> list[dict]:
    return requests.get(f"{graph.url}/_control/requests", timeout=5).json()["requests"]


def test_messenger_send_is_answered_and_recorded_without_the_token(graph: GraphStandIn) -> None:
    message = {
        "recipient": {"id": "7000000000000001"},
        "messaging_type": "RESPONSE",
        "message": {"text": "Hola"},
    }

    reply = requests.post(f"{graph.url}/v25.0/me/messages", json=message, headers=AUTH, timeout=5)

    assert reply.status_code == 200
    assert reply.json()["recipient_id"] == "7000000000000001"
    assert reply.json()["message_id"].startswith("m_")
    (recorded,) = _recorded(graph)
    assert (recorded["method"], recorded["path"], recorded["body"]) == ("POST", "/v25.0/me/messages", message)
    assert recorded["authorized"] is True
    assert PAGE_TOKEN not in json.dumps(recorded)


def test_whatsapp_send_gets_a_wamid(graph: GraphStandIn) -> None:
    message = {
        "messaging_product": "whatsapp",
        "to": "+52 55 1234 0000",
        "type": "text",
        "text": {"body": "Hola"},
    }

    reply = requests.post(
        f"{graph.url}/v25.0/100000000000099/messages", json=message, headers=AUTH, timeout=5
    )

    body = reply.json()
    assert body["contacts"] == [{"input": "+52 55 1234 0000", "wa_id": "525512340000"}]
    assert body["messages"][0]["id"].startswith("wamid.")


def test_profiles_are_derived_or_configured(graph: GraphStandIn) -> None:
    requests.post(
        f"{graph.url}/_control/profiles",
        json={"profiles": {"8000000000000002": {"name": "Lucía", "username": "lucia.mx"}}},
        timeout=5,
    )

    derived = requests.get(
        f"{graph.url}/v25.0/7000000000000001",
        params={"fields": "first_name,last_name"},
        headers=AUTH,
        timeout=5,
    ).json()
    configured = requests.get(
        f"{graph.url}/v25.0/8000000000000002", params={"fields": "name,username"}, headers=AUTH, timeout=5
    ).json()

    assert set(derived) == {"id", "first_name", "last_name"}
    assert configured == {"id": "8000000000000002", "name": "Lucía", "username": "lucia.mx"}


def test_media_metadata_points_at_a_downloadable_url(graph: GraphStandIn) -> None:
    media = requests.get(f"{graph.url}/v25.0/1234567890", headers=AUTH, timeout=5).json()

    download = requests.get(media["url"], headers=AUTH, timeout=5)

    assert download.status_code == 200
    assert len(download.content) == media["file_size"]


def test_calls_without_a_token_get_metas_error(graph: GraphStandIn) -> None:
    reply = requests.post(f"{graph.url}/v25.0/me/messages", json={}, timeout=5)

    assert reply.status_code == 400
    assert reply.json()["error"]["code"] == 2500


def test_injected_failures_use_metas_error_shape_for_the_next_matching_calls(graph: GraphStandIn) -> None:
    error = {
        "message": "(#10) This message is sent outside of allowed window.",
        "type": "OAuthException",
        "code": 10,
        "error_subcode": 2018278,
        "fbtrace_id": "x",
    }
    armed = requests.post(
        f"{graph.url}/_control/fail",
        json={
            "match": {"path_contains": "/messages", "method": "POST"},
            "status": 400,
            "error": error,
            "times": 1,
        },
        timeout=5,
    )
    assert armed.status_code == 200
    send = {"recipient": {"id": "1"}, "message": {"text": "late"}}

    profile = requests.get(f"{graph.url}/v25.0/1", params={"fields": "name"}, headers=AUTH, timeout=5)
    failed = requests.post(f"{graph.url}/v25.0/me/messages", json=send, headers=AUTH, timeout=5)
    retried = requests.post(f"{graph.url}/v25.0/me/messages", json=send, headers=AUTH, timeout=5)

    assert profile.status_code == 200
    assert (failed.status_code, failed.json()) == (400, {"error": error})
    assert retried.status_code == 200
    assert [entry["status"] for entry in _recorded(graph)] == [200, 400, 200]
    requests.delete(f"{graph.url}/_control/requests", timeout=5)
    assert _recorded(graph) == []
