"""Issue 3: DynamoDB cost per inbound event (new sender, known sender, duplicate) and the latency and
peak memory of answering one 1000-event webhook POST."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import time
from typing import Any

from bench.meter import measure, metered, peak_memory

PAGE = "104000000000001"


def _delivery(events: list[dict[str, Any]]) -> bytes:
    body = {"object": "page", "entry": [{"id": PAGE, "time": 1, "messaging": events}]}
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode()


def _event(sender: str, n: int) -> dict[str, Any]:
    return {
        "sender": {"id": sender},
        "recipient": {"id": PAGE},
        "timestamp": 1_790_000_000_000 + n,
        "message": {"mid": f"m_bench_{sender}_{n}", "text": f"hola {n} 👋"},
    }


def run() -> list[dict[str, Any]]:
    import boto3
    from webhook_handler import lambda_handler as webhook

    from inbox_crm.core.secrets import meta_app_secrets
    from inbox_crm.core.settings import get_settings
    from inbox_crm.ingest.pipeline import ingest
    from inbox_crm.meta.webhook import parse_delivery
    from inbox_crm.workspaces import channels
    from inbox_local.apigw import http_api_event, lambda_context

    channels.register_channel("ws_bench", "messenger", PAGE, "Bench", "usr_b")
    counter = itertools.count()

    def unit_for(sender: str, n: int) -> Any:
        [unit] = parse_delivery(json.loads(_delivery([_event(sender, n)])), our_app_id=None)
        return unit

    def new_sender() -> None:
        n = next(counter)
        assert ingest(unit_for(f"9{n:015d}", n)).outcome == "stored"

    known = unit_for("7000000000000001", 0)
    ingest(known)

    def known_sender() -> None:
        n = next(counter)
        assert ingest(unit_for("7000000000000001", n + 1_000_000)).outcome == "stored"

    def duplicate() -> None:
        assert ingest(known).outcome == "duplicate"

    results = [
        measure("ingest: new sender's first message", new_sender, runs=30),
        measure("ingest: known sender's message", known_sender, runs=30),
        measure("ingest: duplicate delivery", duplicate, runs=30),
    ]

    # One 1000-event POST answered by the webhook function (signature, parse, 100 SendMessageBatch).
    sqs = boto3.client("sqs")
    raw = _delivery([_event(f"7{n % 50:015d}", n) for n in range(1000)])
    secret = meta_app_secrets()[0]
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    event = http_api_event("POST", "/webhooks/meta", headers={"X-Hub-Signature-256": signature}, body=raw)
    timings = []
    for run_number in range(3):
        # a fresh queue per run: PurgeQueue is allowed once a minute
        queue = sqs.create_queue(QueueName=f"bench-{run_number}.fifo", Attributes={"FifoQueue": "true"})
        os.environ["INBOUND_QUEUE_URL"] = queue["QueueUrl"]
        get_settings.cache_clear()
        with metered() as cost, peak_memory() as memory:
            started = time.perf_counter()
            reply = webhook(event, lambda_context("WebhookFunction"))
            timings.append((time.perf_counter() - started) * 1000)
        assert reply["statusCode"] == 200
    results.append(
        {
            "operation": "webhook: answer one 1000-event POST",
            "runs": 3,
            "body_bytes": len(raw),
            "p50_ms": round(sorted(timings)[1], 1),
            "max_ms": round(max(timings), 1),
            "messenger_budget_ms": 5000,
            "peak_python_heap_mib": memory["peak_mib"],
            "function_memory_mb": 256,
            "dynamodb_requests": cost.requests,
        }
    )
    return results
