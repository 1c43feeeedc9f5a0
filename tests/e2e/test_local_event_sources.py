"""The local stack's event sources: SQS event source mappings and EventBridge rules from template.yaml,
and a signed webhook replayed into the running stack."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from e2e.local_stack_support import E2E_APP_SECRET, LocalStackClient
from inbox_local import demo
from inbox_local.replay import replay
from inbox_local.template import load_template

pytestmark = pytest.mark.e2e


def _consumer(stack: LocalStackClient, name: str) -> dict[str, Any]:
    return next(consumer for consumer in stack.status()["consumers"] if consumer["name"] == name)


def _wait_for(condition: Callable[[], bool], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    return False


def test_sqs_messages_reach_the_mapped_function(local_stack: LocalStackClient) -> None:
    consumer = next(c for c in local_stack.status()["consumers"] if c["kind"] == "sqs")
    message: dict[str, Any] = {"QueueUrl": consumer["queue_url"], "MessageBody": json.dumps({"e2e": "probe"})}
    if consumer["queue"].endswith(".fifo"):
        message.update(MessageGroupId="e2e-probe", MessageDeduplicationId=str(time.time_ns()))

    local_stack.aws("sqs").send_message(**message)

    assert _wait_for(lambda: _consumer(local_stack, consumer["name"])["records"] > consumer["records"])


def test_eventbridge_rules_route_matching_events_only(local_stack: LocalStackClient) -> None:
    """moto matches the rule's pattern from template.yaml; the rule's consumer gets only matches."""
    spec, event_name, props = load_template().events_of_type("EventBridgeRule")[0]
    pattern = props["Pattern"]
    if not all(isinstance(pattern.get(key), list) for key in ("source", "detail-type")):
        pytest.skip("the first rule's pattern is not a plain source/detail-type match")
    status = local_stack.status()
    rule_name = f"{spec.logical_id}{event_name}"
    consumer = next(c for c in status["consumers"] if c.get("rule") == rule_name)
    bus = next(iter(status["resources"]["buses"].values()))
    events = local_stack.aws("events")
    detail = json.dumps({"workspace_id": demo.DEMO_WORKSPACE_ID, "e2e": "probe"})

    events.put_events(
        Entries=[{"EventBusName": bus, "Source": "e2e.unmatched", "DetailType": "Nothing", "Detail": detail}]
    )
    events.put_events(
        Entries=[
            {
                "EventBusName": bus,
                "Source": pattern["source"][0],
                "DetailType": pattern["detail-type"][0],
                "Detail": detail,
            }
        ]
    )

    assert _wait_for(lambda: _consumer(local_stack, consumer["name"])["events"] >= consumer["events"] + 1)
    time.sleep(1.5)  # a wrongly matched event would have been received by now
    assert _consumer(local_stack, consumer["name"])["events"] == consumer["events"] + 1


def test_replayed_webhook_is_accepted_with_the_stack_secret(
    local_stack: LocalStackClient, tmp_path: Path
) -> None:
    delivery = tmp_path / "delivery.json"
    page = next(channel for channel in demo.CHANNELS if channel.platform == "messenger")
    delivery.write_text(
        json.dumps(
            {
                "object": "page",
                "entry": [
                    {
                        "id": page.account_id,
                        "time": int(time.time() * 1000),
                        "messaging": [
                            {
                                "sender": {"id": "7000000000009999"},
                                "recipient": {"id": page.account_id},
                                "timestamp": int(time.time() * 1000),
                                "message": {"mid": f"m_e2e_{time.time_ns()}", "text": "¿Hay envíos? ☕"},
                            }
                        ],
                    }
                ],
            }
        )
    )

    accepted, _ = replay(delivery, f"{local_stack.url}/webhooks/meta", E2E_APP_SECRET)
    refused, _ = replay(delivery, f"{local_stack.url}/webhooks/meta", "not-the-app-secret")

    assert accepted == 200
    assert refused in (401, 403)


def test_a_delivery_for_an_account_nobody_connected_is_for_operators_only(
    local_stack: LocalStackClient, tmp_path: Path
) -> None:
    stranger = f"5550{time.time_ns() % 10**11:011d}"
    delivery = tmp_path / "stranger.json"
    delivery.write_text(
        json.dumps(
            {
                "object": "page",
                "entry": [
                    {
                        "id": stranger,
                        "time": int(time.time() * 1000),
                        "messaging": [
                            {
                                "sender": {"id": "7000000000008888"},
                                "recipient": {"id": stranger},
                                "timestamp": int(time.time() * 1000),
                                "message": {"mid": f"m_e2e_{time.time_ns()}", "text": "hola"},
                            }
                        ],
                    }
                ],
            }
        )
    )
    assert replay(delivery, f"{local_stack.url}/webhooks/meta", E2E_APP_SECRET)[0] == 200

    def kept_for_operators() -> bool:
        return any(item["account_id"] == stranger for item in local_stack.status()["unrouted_for_operators"])

    assert _wait_for(kept_for_operators)
    for workspace in (demo.DEMO_WORKSPACE_ID, demo.OTHER_WORKSPACE_ID):
        token = local_stack.token("owner", workspace_id=workspace)
        listed = local_stack.call("GET", "/v1/webhooks/unrouted", token=token)
        assert listed.status_code == 200
        assert stranger not in listed.text
