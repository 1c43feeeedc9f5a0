"""Due work as independent items: the scheduler finds them, the work queue carries them, senders do them.

The scheduler (every minute) reads the sparse due index (gsi2: scheduled and queued messages, flow
waits, expired claims of either, broadcasts) and enqueues one item per message, wait or broadcast page
on the work queue (template.yaml WorkQueue). ``SenderFunction`` consumes it with partial-batch
failures, so one failure never stops another item or another workspace, and throughput grows with
the number of senders. Every item is safe to do twice: messages and waits are claimed
conditionally under a lease, broadcast recipients are written once.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from inbox_crm.core.aws import client
from inbox_crm.core.observability import logger, tracer
from inbox_crm.core.settings import get_settings
from inbox_crm.core.timeutil import to_millis, utcnow
from inbox_crm.flows import runs
from inbox_crm.outbound import broadcasts
from inbox_crm.outbound.schedule import process_claimable
from inbox_crm.outbound.transitions import DUE_SHARDS
from inbox_crm.store.models import Broadcast, FlowRun, InboxItem, Message

SQS_BATCH = 10
QUERY_PAGE = 500
MAX_ITEMS_PER_RUN = 20_000  # per scheduler run; what is left is still due next minute


@dataclass(frozen=True)
class WorkItem:
    kind: str  # send | flow_wait | broadcast
    pk: str
    sk: str
    # send: what claiming needs (message_id, workspace_id, conversation_id), so no read comes first
    ids: tuple[str, ...] = ()

    def body(self) -> str:
        return json.dumps({"kind": self.kind, "pk": self.pk, "sk": self.sk, "ids": list(self.ids)})

    @classmethod
    def parse(cls, body: str) -> WorkItem:
        raw = json.loads(body)
        ids = tuple(str(value) for value in raw.get("ids") or ())
        return cls(kind=str(raw["kind"]), pk=str(raw["pk"]), sk=str(raw["sk"]), ids=ids)


# ------------------------------------------------------------------ finding (scheduler)


def _due(model: Any, shard: str, upper: str, has_time: Callable[[], bool]) -> Iterator[Any]:
    """Everything due on one shard, page by page, while the run has time."""
    last: dict[str, Any] | None = None
    while has_time():
        page = model.due_index.query(shard, model.gsi2sk <= upper, limit=QUERY_PAGE, last_evaluated_key=last)
        yield from page
        last = page.last_evaluated_key
        if not last:
            return


def due_items(now: datetime, has_time: Callable[[], bool] = lambda: True) -> list[WorkItem]:
    """One Query page per shard per 500 due items: the cost follows what is due, not what waits."""
    upper = f"{to_millis(now):013d}#~"
    items: list[WorkItem] = []
    shards: list[tuple[Any, str, str]] = [
        *((Message, f"DUE#{shard}", "send") for shard in range(DUE_SHARDS)),
        *((FlowRun, f"FLOWWAIT#{shard}", "flow_wait") for shard in range(runs.WAIT_SHARDS)),
    ]
    for model, shard, kind in shards:
        for item in _due(model, shard, upper, has_time):
            if isinstance(item, Message):
                ids = (item.message_id, item.workspace_id, item.conversation_id)
                items.append(WorkItem(kind, item.pk, item.sk, ids))
            elif isinstance(item, model):
                items.append(WorkItem(kind, item.pk, item.sk))
            if len(items) >= MAX_ITEMS_PER_RUN:
                return items
    for broadcast in broadcasts.due_broadcasts(now):
        if broadcasts.lease(broadcast, now):  # one page at a time per broadcast
            items.append(WorkItem("broadcast", broadcast.pk, broadcast.sk))
    return items


def enqueue(items: list[WorkItem]) -> int:
    """Send items to the work queue in batches of 10; returns how many were accepted. A refused one
    is still due and is found again next minute."""
    queue_url = get_settings().work_queue_url
    if not queue_url:
        raise RuntimeError("WORK_QUEUE_URL is not set")
    sqs = client("sqs")
    accepted = 0
    for start in range(0, len(items), SQS_BATCH):
        batch = items[start : start + SQS_BATCH]
        entries = [{"Id": str(index), "MessageBody": item.body()} for index, item in enumerate(batch)]
        try:
            response = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries)
        except Exception:
            logger.exception("work items not enqueued; they stay due", extra={"items": len(batch)})
            continue
        accepted += len(response.get("Successful", []))
        if response.get("Failed"):
            logger.warning("work items refused by SQS", extra={"failed": len(response["Failed"])})
    return accepted


# ------------------------------------------------------------------ doing (sender)


class NotEnoughTime(Exception):
    """Left for a later delivery: starting it could outlive the function."""


@tracer.capture_method(capture_response=False)
def process(item: WorkItem, has_time: Callable[[], bool], now: datetime | None = None) -> str:
    if not has_time():
        raise NotEnoughTime(item.kind)
    now = now or utcnow()
    if item.kind == "send" and len(item.ids) == 3:
        message_id, workspace_id, conversation_id = item.ids
        # The claim itself returns the message: a due send costs no read before it.
        claimable = Message(
            item.pk,
            item.sk,
            message_id=message_id,
            workspace_id=workspace_id,
            conversation_id=conversation_id,
        )
        return process_claimable(claimable, now).status or "gone"
    try:
        stored = InboxItem.get(item.pk, item.sk, consistent_read=True)
    except InboxItem.DoesNotExist:
        return "gone"
    if item.kind == "flow_wait" and isinstance(stored, FlowRun):
        # Claimed conditionally: a wait not yet due, or one another resumer holds, is left alone; a
        # claim whose lease expired (its resumer died) is taken up again.
        return runs.resume(stored, now)
    if item.kind == "broadcast" and isinstance(stored, Broadcast):
        done = broadcasts.process_page(stored, has_time)
        if not done:
            enqueue([item])  # the next page; if this is lost the lease expires and the scheduler retakes it
        return "done" if done else "next_page"
    return "ignored"


def time_left(remaining_ms: Callable[[], int], margin_seconds: float) -> Callable[[], bool]:
    """has_time() from Lambda's context.get_remaining_time_in_millis with a safety margin."""
    return lambda: remaining_ms() > margin_seconds * 1000


def deadline(seconds: float) -> Callable[[], bool]:
    """has_time() for a fixed budget (tests, the local stack's timer)."""
    end = time.monotonic() + seconds
    return lambda: time.monotonic() < end
