"""Issue 10 in the running local stack: a scheduled send goes scheduler -> work queue -> sender -> Graph,
with the queue and the function wired from template.yaml like every other SQS event source."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from e2e.browser.webapp import api_json, messenger_conversation, unique_letters, wait_until
from e2e.local_stack_support import LocalStackClient

pytestmark = pytest.mark.e2e


def test_a_scheduled_send_is_dispatched_through_the_work_queue(local_stack: LocalStackClient) -> None:
    consumers = [c for c in local_stack.status()["consumers"] if c["kind"] == "sqs"]
    [sender] = [c for c in consumers if "SenderFunction" in c["name"]]
    _, conversation = messenger_conversation(local_stack, "Sara", f"Ruiz{unique_letters()}", "¿Abren hoy?")
    path = f"/v1/conversations/{conversation['id']}/messages"
    send_at = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
    created = local_stack.call(
        "POST", path, role="agent", json={"text": "Sí, hasta las 8 🕗", "send_at": send_at}
    )
    message = api_json(created, 201)
    assert message["status"] == "scheduled"

    def sent() -> dict[str, Any] | None:
        local_stack.call("POST", "/_local/schedules/SchedulerFunction")
        items = api_json(local_stack.call("GET", path, role="agent"))["items"]
        found = next(item for item in items if item["id"] == message["id"])
        return found if found["status"] == "sent" else None

    assert wait_until(sent, "the scheduled reply to be sent")["platform_message_id"]
    after = next(c for c in local_stack.status()["consumers"] if c["name"] == sender["name"])
    assert after["records"] > sender["records"]
