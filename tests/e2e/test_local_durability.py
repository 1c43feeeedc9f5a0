"""A webhook the local stack answered 200 is ingested even when the stack is killed right after
(SIGKILL) or stopped (SIGTERM) with the deliveries still queued; SIGTERM ends the stack promptly."""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import pytest

from e2e.local_stack_support import E2E_APP_SECRET, LocalStackClient, client_for, start_stack
from inbox_local import demo
from inbox_local.replay import post_webhook

pytestmark = pytest.mark.e2e

PAGE = next(channel.account_id for channel in demo.CHANNELS if channel.platform == "messenger")
MESSAGES_PER_DELIVERY = 5
IN_FLIGHT_BEFORE_STOP = 100  # messages: more than the old 5 s drain on SIGTERM could ingest
MAX_DELIVERIES = 500


def _delivery(run: str, n: int) -> dict[str, object]:
    """Delivery ``n``: one message from each of MESSAGES_PER_DELIVERY new senders."""
    now = int(time.time() * 1000)
    messaging = [
        {
            "sender": {"id": f"77{n:06d}{k:02d}"},
            "recipient": {"id": PAGE},
            "timestamp": now,
            "message": {"mid": f"m_durable_{run}_{n}_{k}", "text": f"hola {n}.{k}"},
        }
        for k in range(MESSAGES_PER_DELIVERY)
    ]
    return {"object": "page", "entry": [{"id": PAGE, "time": now, "messaging": messaging}]}


class Deliveries(threading.Thread):
    """One-message deliveries from new senders, one after another, until the stack stops answering;
    the mids of those answered 200 (acknowledged: Meta would not send them again)."""

    def __init__(self, stack: LocalStackClient, run: str) -> None:
        super().__init__(daemon=True)
        self.url = f"{stack.url}/webhooks/meta"
        self.run_id = run
        self.acknowledged: list[str] = []

    def run(self) -> None:
        for n in range(MAX_DELIVERIES):
            try:
                status, _ = post_webhook(_delivery(self.run_id, n), self.url, E2E_APP_SECRET, timeout=10)
            except OSError:
                return
            if status != 200:
                return
            self.acknowledged.extend(f"m_durable_{self.run_id}_{n}_{k}" for k in range(MESSAGES_PER_DELIVERY))


def _stored(stack: LocalStackClient, run: str) -> Counter[str]:
    dynamodb = stack.aws("dynamodb")
    found: Counter[str] = Counter()
    for page in dynamodb.get_paginator("scan").paginate(
        TableName="inbox",
        FilterExpression="begins_with(platform_message_id, :run)",
        ExpressionAttributeValues={":run": {"S": f"m_durable_{run}_"}},
    ):
        found.update(
            item["platform_message_id"]["S"] for item in page["Items"] if item["sk"]["S"].startswith("MSG#")
        )
    return found


def _wait_for(stack: LocalStackClient, run: str, expected: list[str]) -> Counter[str]:
    deadline = time.monotonic() + 120
    stored = _stored(stack, run)
    while not set(expected) <= set(stored) and time.monotonic() < deadline:
        time.sleep(0.5)
        stored = _stored(stack, run)
    return stored


@pytest.mark.parametrize("stop", ["SIGKILL", "SIGTERM"])
def test_acknowledged_webhooks_survive_the_stack_stopping(tmp_path: Path, stop: str) -> None:
    data_dir = tmp_path / "data"
    run = uuid.uuid4().hex[:8]
    first = start_stack(data_dir)
    deliveries = Deliveries(client_for(first), run)
    deliveries.start()
    while len(deliveries.acknowledged) < IN_FLIGHT_BEFORE_STOP and deliveries.is_alive():
        time.sleep(0.05)
    # Stopped while webhooks keep arriving and the acknowledged ones wait in the queue.
    if stop == "SIGKILL":
        first.kill()
    else:
        # Raises when the stack ignores SIGTERM; exit code 0 means it stopped on its own.
        assert first.stop() == 0, first.log_tail()
    deliveries.join(30)
    mids = deliveries.acknowledged
    assert len(mids) >= IN_FLIGHT_BEFORE_STOP

    second = start_stack(data_dir)
    try:
        stored = _wait_for(client_for(second), run, mids)
        # A delivery cut off between its queueing and its 200 may be stored too: Meta would resend it.
        assert set(mids) <= set(stored), second.log_tail()
        assert max(stored.values()) == 1
    finally:
        assert second.stop() == 0, second.log_tail()
