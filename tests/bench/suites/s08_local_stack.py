"""On the local stack (make run's code, in a subprocess, over HTTP): how fast one 1000-event webhook
POST is answered (Meta's Messenger budget: 5 s), and how long a new sender takes from webhook to a
CRM contact linked by the "register senders" flow."""

from __future__ import annotations

import hashlib
import hmac
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

PAGE = "100000000000001"  # the demo Page the local stack seeds


def _signed(body: dict[str, Any], secret: str) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    return raw, {"X-Hub-Signature-256": signature, "Content-Type": "application/json"}


def _messaging(sender: str, n: int) -> dict[str, Any]:
    return {
        "sender": {"id": sender},
        "recipient": {"id": PAGE},
        "timestamp": int(time.time() * 1000) + n,
        "message": {"mid": f"m_localbench_{sender}_{n}", "text": f"hola {n}"},
    }


def _contact_linked_ms(
    stack: Any, session: requests.Session, url: str, secret: str, sender: str, n: int
) -> float:
    from inbox_crm.ingest.ids import direct_conversation_id, identity_id_for

    conversation_id = direct_conversation_id(identity_id_for("messenger", PAGE, sender))
    raw, headers = _signed(
        {"object": "page", "entry": [{"id": PAGE, "messaging": [_messaging(sender, n)]}]}, secret
    )
    started = time.perf_counter()
    assert session.post(url, data=raw, headers=headers, timeout=30).status_code == 200
    while time.perf_counter() - started < 60:
        reply = stack.call("GET", f"/v1/conversations/{conversation_id}", role="owner")
        if reply.status_code == 200 and reply.json()["contact_id"]:
            return (time.perf_counter() - started) * 1000
        time.sleep(0.02)
    raise AssertionError("the contact was not linked within 60 s")


def _wait_until_drained(stack: Any, seconds: float = 240) -> None:
    """Measure a delivery against an idle stack, not against the previous batch's ingestion."""
    sqs = stack.aws("sqs")
    queue_url = sqs.get_queue_url(QueueName="inbound.fifo")["QueueUrl"]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        attributes = sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        if not any(int(value) for value in attributes.values()):
            return
        time.sleep(0.5)
    raise AssertionError("the inbound queue did not drain")


def run() -> list[dict[str, Any]]:
    from e2e.local_stack_support import E2E_APP_SECRET, client_for, start_stack

    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as data_dir:
        stack_process = start_stack(Path(data_dir))
        try:
            stack = client_for(stack_process)
            url = f"{stack.url}/webhooks/meta"
            session = requests.Session()

            enabled = stack.call(
                "POST", "/v1/flow-templates/register_messenger_senders", role="owner", json={"enable": True}
            )
            assert enabled.status_code == 201, enabled.text
            latencies = [
                _contact_linked_ms(stack, session, url, E2E_APP_SECRET, f"78{n:014d}", n) for n in range(5)
            ]
            results.append(
                {
                    "operation": "local stack: webhook to contact linked (register senders flow)",
                    "runs": len(latencies),
                    "p50_ms": round(statistics.median(latencies), 1),
                    "max_ms": round(max(latencies), 1),
                }
            )

            timings = []
            # One timed delivery against an idle stack: draining 1000 units through every local
            # consumer (ingest, flow engine, enrichment, media) in one process takes minutes.
            _wait_until_drained(stack)
            for attempt in range(1):
                events = [_messaging(f"79{attempt}{n % 50:013d}", n) for n in range(1000)]
                body = {"object": "page", "entry": [{"id": PAGE, "messaging": events}]}
                raw, headers = _signed(body, E2E_APP_SECRET)
                started = time.perf_counter()
                reply = session.post(url, data=raw, headers=headers, timeout=30)
                timings.append((time.perf_counter() - started) * 1000)
                assert reply.status_code == 200, reply.text
            results.append(
                {
                    "operation": "local stack: answer one 1000-event webhook POST over HTTP",
                    "runs": len(timings),
                    "p50_ms": round(statistics.median(timings), 1),
                    "max_ms": round(max(timings), 1),
                    "messenger_budget_ms": 5000,
                }
            )
        finally:
            stack_process.stop()
    return results
