"""The fault mode: LOCAL_FAULTS fails calls at the configured rate, /_local/faults changes it at runtime,
and the bus tap (/_local/events) shows what reached the bus."""

from __future__ import annotations

import math
import time
from pathlib import Path

import pytest
import requests

from e2e.local_stack_support import E2E_APP_SECRET, client_for, start_stack
from inbox_local import demo
from inbox_local.replay import post_webhook

pytestmark = pytest.mark.e2e

PAGE = next(channel.account_id for channel in demo.CHANNELS if channel.platform == "messenger")
CALLS = 300


def _within(observed: int, calls: int, rate: float) -> bool:
    """Binomial: within 4 standard deviations of calls × rate."""
    spread = 4 * math.sqrt(calls * rate * (1 - rate))
    return abs(observed - calls * rate) <= spread


def _graph_statuses(graph_url: str, count: int) -> list[int]:
    session = requests.Session()
    statuses = []
    for n in range(count):
        try:
            reply = session.post(
                f"{graph_url}/v25.0/{PAGE}/messages",
                json={"recipient": {"id": f"55{n:06d}"}, "message": {"text": f"hola {n}"}},
                headers={"Authorization": "Bearer page-token"},
                timeout=5,
            )
            statuses.append(reply.status_code)
        except requests.ConnectionError:
            statuses.append(0)  # accepted, answer dropped
            session = requests.Session()
    return statuses


def test_faults_at_the_configured_rate_and_toggled_at_runtime(tmp_path: Path) -> None:
    stack_process = start_stack(tmp_path / "data", LOCAL_FAULTS="graph=0.25", LOCAL_FAULTS_SEED="7")
    try:
        stack = client_for(stack_process)

        statuses = _graph_statuses(stack.graph_url, CALLS)
        failed = sum(status != 200 for status in statuses)
        assert _within(failed, CALLS, 0.25), failed
        assert {0, 400, 500} <= set(statuses)  # lost answers, rate limits, Meta's 500
        recorded = stack.session.get(f"{stack.graph_url}/_control/requests", timeout=10).json()["requests"]
        # A lost answer is a send Meta made: recorded as accepted, marked as the fault.
        lost = [entry for entry in recorded if entry.get("fault") == "lost_after_accept"]
        assert len(lost) == statuses.count(0)
        assert all(entry["status"] == 200 for entry in lost)
        rate_limits = [
            entry["response"]["error"]["code"] for entry in recorded if entry.get("fault") == "rate_limit"
        ]
        assert rate_limits
        assert set(rate_limits) <= {4, 613, 80007}

        status = stack.call("GET", "/_local/faults").json()
        assert status["rates"] == {"graph": 0.25}
        assert status["seed"] == 7
        assert sum(status["injected"]["graph"].values()) == failed

        assert stack.call("DELETE", "/_local/faults").json()["rates"] == {}
        assert set(_graph_statuses(stack.graph_url, 50)) == {200}

        assert stack.call("POST", "/_local/faults", json={"graph": 1}).status_code == 200
        assert 200 not in set(_graph_statuses(stack.graph_url, 20))
        assert stack.call("POST", "/_local/faults", json={"graph": 2}).status_code == 400
        assert stack.call("POST", "/_local/faults", json={"lambda": 0.1}).status_code == 400

        # AWS: the webhook's queue sends fail at the rate (botocore retries them), the stack's own
        # polling does not (every delivery is still ingested), and the bus shows what got through.
        stack.call("POST", "/_local/faults", json={"sqs": 0.3})
        acknowledged = 0
        for n in range(40):
            now = int(time.time() * 1000)
            document = {
                "object": "page",
                "entry": [
                    {
                        "id": PAGE,
                        "time": now,
                        "messaging": [
                            {
                                "sender": {"id": f"66{n:06d}"},
                                "recipient": {"id": PAGE},
                                "timestamp": now,
                                "message": {"mid": f"m_faults_{n}", "text": f"hola {n}"},
                            }
                        ],
                    }
                ],
            }
            status_code, _ = post_webhook(document, f"{stack.url}/webhooks/meta", E2E_APP_SECRET)
            acknowledged += status_code == 200
        counts = stack.call("GET", "/_local/faults").json()
        sqs_calls, sqs_faults = counts["calls"]["sqs"], sum(counts["injected"]["sqs"].values())
        assert sqs_calls >= 40
        assert _within(sqs_faults, sqs_calls, 0.3), (sqs_faults, sqs_calls)
        stack.call("DELETE", "/_local/faults")

        deadline = time.monotonic() + 60
        received: list[object] = []
        while len(received) < acknowledged and time.monotonic() < deadline:
            time.sleep(0.5)
            events = stack.call("GET", "/_local/events?detail_type=MessageReceived").json()["events"]
            received = events  # this stack received no other message
        assert len(received) >= acknowledged > 0
    finally:
        assert stack_process.stop() == 0, stack_process.log_tail()
