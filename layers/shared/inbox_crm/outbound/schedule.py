"""Scheduled and due sends: the due index read by the scheduler, its sweeper, and cancelling.

The scheduler reads what is due (one Query per shard of gsi2, never a Scan) and hands each message
to a sender: a due message is delivered, an expired claim is re-sent if no POST was attempted (else
its outcome is unknown), and an unknown outcome Meta never confirmed ends failed.
"""

from __future__ import annotations

from datetime import datetime

from inbox_crm.core.errors import Conflict, NotFound
from inbox_crm.core.timeutil import to_millis
from inbox_crm.outbound.delivery import deliver
from inbox_crm.outbound.settle import expire_unconfirmed, mark_unknown
from inbox_crm.outbound.transitions import DUE_SHARDS, done_actions, transition
from inbox_crm.ports import Graph, ports
from inbox_crm.store.models import Conversation, Message

_SCHEDULED_WINDOW = 50  # scheduled messages sort last (their time is ahead): the newest 50 hold them


def cancel_scheduled(workspace_id: str, conversation_id: str, message_id: str) -> Message:
    """A scheduled message that has not left is never sent: the claim only takes scheduled ones."""
    partition = Conversation.pk_for(workspace_id, conversation_id)
    found = next(
        (
            item
            for item in Message.query(
                partition, Message.sk.startswith("MSG#"), scan_index_forward=False, limit=_SCHEDULED_WINDOW
            )
            if isinstance(item, Message) and item.message_id == message_id and item.direction == "outbound"
        ),
        None,
    )
    if found is None:
        raise NotFound("No such scheduled message")
    cancelled = transition(
        found,
        [
            Message.status.set("cancelled"),
            Message.error_code.set("cancelled"),
            Message.error_reason.set("Cancelled before it was sent"),
            *done_actions(),
        ],
        Message.status == "scheduled",
    )
    if not cancelled:
        raise Conflict("Only a scheduled message can be cancelled", {"reason_code": "not_scheduled"})
    return found


def due_messages(now: datetime, per_shard: int = 50) -> list[Message]:
    """What is due now, across shards: one Query per shard, never a Scan. Due means a scheduled or
    queued message whose time has come, or a claim whose lease expired."""
    due: list[Message] = []
    upper = f"{to_millis(now):013d}#~"
    for shard in range(DUE_SHARDS):
        for item in Message.due_index.query(f"DUE#{shard}", Message.gsi2sk <= upper, limit=per_shard):
            if isinstance(item, Message):
                due.append(item)
    return due


def process_due(message: Message, now: datetime, client: Graph | None = None) -> Message:
    """Send a due message, or sweep an expired claim: re-sent if no POST was attempted, else unknown."""
    if message.status == "sending":
        if message.lease_until is None or message.lease_until > now:
            return message  # its holder is still within its lease
        if message.post_started_at is not None:
            return mark_unknown(message, [], now)
    if message.status == "unknown":
        return expire_unconfirmed(message, now)
    if message.status not in ("queued", "scheduled", "sending"):
        return message
    return deliver(message, client=client, now=now)


def process_claimable(message: Message, now: datetime, client: Graph | None = None) -> Message:
    """process_due for a message known only by its keys: claimed first (the claim returns it), read
    only when the claim is refused, to sweep an expired claim whose POST may have left."""
    result = deliver(message, client=client, now=now)
    expired = result.status == "sending" and result.lease_until is not None and result.lease_until <= now
    if expired and result.post_started_at is not None:
        return mark_unknown(result, [], now)
    if result.status == "unknown":
        return expire_unconfirmed(result, now)
    return result


def send_due(now: datetime | None = None, client: Graph | None = None) -> dict[str, int]:
    now = now or ports().clock()
    counts = {"due": 0, "sent": 0, "failed": 0, "rescheduled": 0, "unknown": 0, "skipped": 0}
    for message in due_messages(now):
        counts["due"] += 1
        claim_before = message.claim_id
        result = process_due(message, now, client)
        key = {"sent": "sent", "failed": "failed", "scheduled": "rescheduled", "unknown": "unknown"}.get(
            result.status or "", "skipped"
        )
        if result.status in ("delivered", "read"):
            key = "sent"
        if result is not message and message.claim_id == claim_before and key == "sent":
            key = "skipped"  # another worker's claim sent it: counted once, by that worker
        counts[key] += 1
    return counts
