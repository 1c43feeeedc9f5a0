"""Issue 5 on the local stack: the "register senders" templates, driven by the template.yaml rules
(engine -> FlowActionRequested -> the create/associate contact function), exactly once per sender."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from e2e.local_stack_support import E2E_APP_SECRET, LocalStackClient
from inbox_local.replay import replay
from inbox_local.template import PROJECT_ROOT

pytestmark = pytest.mark.e2e

# sample file -> (channel, the ids to make unique for this run)
SAMPLES = {
    "messenger": ("events/messenger/text.json", ["7000000000000001", "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM"]),
    "instagram": (
        "events/instagram/text.json",
        ["8000000000000001", "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3"],
    ),
    "whatsapp": (
        "events/whatsapp/text_with_profile.json",
        ["5215512340001", "MX.1349120865530274191", "wamid.HBgNNTIxNTUxMjM0MDAwMRUCABIYFjNFQjBB"],
    ),
}


def _wait_for(probe: Callable[[], Any], seconds: float = 20) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def _sample(channel: str, tmp_path: Path, tag: str, digits: str) -> Path:
    source, ids = SAMPLES[channel]
    text = (PROJECT_ROOT / source).read_text(encoding="utf-8")
    for original in ids:
        replacement = original[: -len(digits)] + digits if original.isdigit() else f"{original}{tag}"
        if original.startswith("MX."):
            replacement = f"MX.{digits}{original[3 + len(digits) :]}"
        text = text.replace(original, replacement)
    path = tmp_path / f"{channel}-{tag}.json"
    path.write_text(text, encoding="utf-8")
    return path


def _post(stack: LocalStackClient, path: Path) -> None:
    status, body = replay(path, f"{stack.url}/webhooks/meta", E2E_APP_SECRET)
    assert status == 200, body


def _conversations(stack: LocalStackClient) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    for status in ("open", "closed"):
        reply = stack.call("GET", "/v1/conversations", role="owner", params={"status": status, "limit": 100})
        assert reply.status_code == 200, reply.text
        items += reply.json()["items"]
    return items


def _contacts_with(stack: LocalStackClient, identity_id: str) -> list[dict[str, Any]]:
    reply = stack.call("GET", "/v1/contacts", role="owner", params={"limit": 100})
    assert reply.status_code == 200, reply.text
    found = []
    for item in reply.json()["items"]:
        contact = stack.call("GET", f"/v1/contacts/{item['id']}", role="owner").json()
        if any(identity["id"] == identity_id for identity in contact.get("identities", [])):
            found.append(contact)
    return found


def test_register_senders_templates_link_exactly_one_contact_per_sender(
    local_stack: LocalStackClient, tmp_path: Path
) -> None:
    flows = []
    try:
        for channel in ("messenger", "instagram", "whatsapp"):
            reply = local_stack.call(
                "POST", f"/v1/flow-templates/register_{channel}_senders", role="owner", json={"enable": True}
            )
            assert reply.status_code == 201, reply.text
            flows.append(reply.json()["id"])

        tag = uuid.uuid4().hex[:8]
        digits = str(int(tag, 16) % 10**6).zfill(6)
        samples = {channel: _sample(channel, tmp_path, tag, digits) for channel in SAMPLES}
        known = {c["id"] for c in _conversations(local_stack)}
        for path in samples.values():
            _post(local_stack, path)

        def registered() -> dict[str, dict[str, Any]] | None:
            fresh = [c for c in _conversations(local_stack) if c["id"] not in known]
            by_channel = {c["channel"]: c for c in fresh}
            if set(by_channel) == set(SAMPLES) and all(c["contact_id"] for c in by_channel.values()):
                return by_channel
            return None

        conversations = _wait_for(registered)
        for channel, conversation in conversations.items():
            [contact] = _contacts_with(local_stack, conversation["identity_id"])
            assert contact["id"] == conversation["contact_id"]
            [identity] = [i for i in contact["identities"] if i["id"] == conversation["identity_id"]]
            if channel == "messenger":
                assert contact["facebook_ids"] == [identity["external_id"]]
                assert identity["external_id"].endswith(digits)
            elif channel == "instagram":
                assert identity["username"]
                assert contact["instagram_usernames"] == [identity["username"]]
            else:
                assert contact["whatsapp_phone"]
                assert contact["whatsapp_phone"].endswith(digits)
            # the history is linked: the conversation's messages are there, under the contact
            messages = local_stack.call(
                "GET", f"/v1/conversations/{conversation['id']}/messages", role="owner"
            ).json()["items"]
            assert messages

        # a second message, the same webhook again and a concurrent duplicate change nothing
        for path in samples.values():
            _post(local_stack, path)
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda p: _post(local_stack, p), [samples["messenger"], samples["messenger"]]))
        second = _sample("messenger", tmp_path, tag + "b", digits)
        _post(local_stack, second)
        time.sleep(2.0)
        for conversation in conversations.values():
            assert len(_contacts_with(local_stack, conversation["identity_id"])) == 1
        for flow_id in flows:
            runs = local_stack.call("GET", f"/v1/flows/{flow_id}/runs", role="owner").json()["items"]
            mine = [r for r in runs if r["conversation_id"] in {c["id"] for c in conversations.values()}]
            assert len(mine) == 1, runs
            assert mine[0]["state"] == "completed", runs

        # disabled: a new sender stays unregistered
        for flow_id in flows:
            assert local_stack.call("POST", f"/v1/flows/{flow_id}/disable", role="owner").status_code == 200
        other = uuid.uuid4().hex[:8]
        other_digits = str(int(other, 16) % 10**6).zfill(6)
        _post(local_stack, _sample("messenger", tmp_path, other, other_digits))
        fresh = _wait_for(
            lambda: [
                c
                for c in _conversations(local_stack)
                if c["channel"] == "messenger"
                and c["id"] not in known
                and c["id"] != conversations["messenger"]["id"]
            ]
        )
        time.sleep(1.5)
        assert all(
            c["contact_id"] is None
            for c in _conversations(local_stack)
            if c["id"] in {f["id"] for f in fresh}
        )
    finally:
        for flow_id in flows:
            local_stack.call("POST", f"/v1/flows/{flow_id}/disable", role="owner")
