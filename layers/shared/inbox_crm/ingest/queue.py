"""The durable buffer between the webhook's 200 and ingestion: an SQS FIFO queue.

Units of one conversation share a message group, so they are applied in order and never
concurrently; the deduplication id drops Meta's quick redeliveries (ingestion is idempotent anyway).
"""

from __future__ import annotations

import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from inbox_crm.core.aws import client
from inbox_crm.core.settings import get_settings
from inbox_crm.meta.units import InboundUnit, fit_unit

_BATCH_LIMIT = 10
_BATCH_BYTES = 240 * 1024
_LANES = 8


class EnqueueError(Exception):
    pass


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:64]


def to_message(unit: InboundUnit, correlation_id: str | None) -> dict[str, Any]:
    # An oversized unit is cut here, so the SQS message fits and ingestion can store it.
    unit = fit_unit(unit)
    body = {"unit": unit.model_dump(mode="json", exclude_defaults=True), "correlation_id": correlation_id}
    return {
        "MessageBody": json.dumps(body, ensure_ascii=False, separators=(",", ":")),
        "MessageGroupId": _digest(unit.conversation_key),
        "MessageDeduplicationId": _digest(unit.dedupe_key),
    }


def from_message(body: str) -> tuple[InboundUnit, str | None]:
    parsed = json.loads(body)
    return InboundUnit.model_validate(parsed["unit"]), parsed.get("correlation_id")


def _batches(messages: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    batches: list[list[dict[str, Any]]] = []
    current: list[dict[str, Any]] = []
    size = 0
    for message in messages:
        message_size = len(message["MessageBody"].encode("utf-8"))
        if current and (len(current) == _BATCH_LIMIT or size + message_size > _BATCH_BYTES):
            batches.append(current)
            current, size = [], 0
        current.append(message)
        size += message_size
    if current:
        batches.append(current)
    return batches


def _lanes(messages: list[dict[str, Any]], count: int) -> list[list[dict[str, Any]]]:
    """Split messages into lanes that can be sent in parallel: every message group stays whole in
    one lane, in its original order, because FIFO order only holds within a group."""
    lanes: list[list[dict[str, Any]]] = [[] for _ in range(count)]
    lane_of: dict[str, int] = {}
    sizes = [0] * count
    for message in messages:
        group = message["MessageGroupId"]
        if group not in lane_of:
            lane_of[group] = sizes.index(min(sizes))
        lane = lane_of[group]
        lanes[lane].append(message)
        sizes[lane] += 1
    return [lane for lane in lanes if lane]


def _send_lane(queue_url: str, messages: list[dict[str, Any]]) -> None:
    sqs = client("sqs")
    for batch in _batches(messages):
        entries = [{"Id": str(index), **message} for index, message in enumerate(batch)]
        for _ in range(3):
            response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
            failed_ids = {failure["Id"] for failure in response.get("Failed", [])}
            entries = [entry for entry in entries if entry["Id"] in failed_ids]
            if not entries:
                break
        if entries:
            raise EnqueueError(f"{len(entries)} units were refused by the inbound queue")


def enqueue(units: list[InboundUnit], correlation_id: str | None = None) -> int:
    """Send every unit durably; raises EnqueueError (so Meta retries) if any is still refused.

    A 1000-update delivery is ~100 SendMessageBatch calls: they go out in parallel lanes so the
    webhook answers well inside Messenger's 5 s."""
    queue_url = get_settings().inbound_queue_url
    if not queue_url:
        raise EnqueueError("INBOUND_QUEUE_URL is not configured")
    messages = [to_message(unit, correlation_id) for unit in units]
    lanes = _lanes(messages, _LANES if len(messages) > _BATCH_LIMIT else 1)
    if len(lanes) == 1:
        _send_lane(queue_url, lanes[0])
    else:
        with ThreadPoolExecutor(max_workers=len(lanes)) as pool:
            for future in [pool.submit(_send_lane, queue_url, lane) for lane in lanes]:
                future.result()
    return len(messages)
