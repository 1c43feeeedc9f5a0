"""Broadcasts: one message or template to every contact with a tag, on one channel.

Resumable and exactly-once per recipient: the scheduler leases a due broadcast (gsi2) and enqueues
it as a work item; a sender does one page of the tag's listing from the stored cursor, writes a
recipient record per contact with a condition (a repeated page adds nothing), sends through the same
send_message as agents with an idempotency key per (broadcast, contact), and enqueues the
next page. Sends are paced under Meta's per-second caps; the cancel flag is read before each
recipient; a page stops when its function's time runs short and the next delivery resumes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from inbox_crm.contacts.search import ContactFilter, search_contacts
from inbox_crm.contacts.tags import get_tag
from inbox_crm.core.errors import Conflict, NotFound
from inbox_crm.core.ids import new_id
from inbox_crm.core.observability import logger
from inbox_crm.core.timeutil import to_millis, utcnow
from inbox_crm.meta.policy import Sender
from inbox_crm.meta.send import OutboundContent
from inbox_crm.outbound.compose import Author, SendSpec
from inbox_crm.outbound.send import send_message
from inbox_crm.store.models import Broadcast, BroadcastRecipient, Contact, Identity
from inbox_crm.store.transactions import condition_failed

BROADCAST_SHARD = "BROADCAST#0"
PAGE_SIZE = 25
# Conservative pacing: WhatsApp allows 80 messages/s per number by default, Messenger 300/s per
# Page; one scheduler run sends at most this many per second and stops before its time budget.
SENDS_PER_SECOND = 20
RUN_BUDGET_SECONDS = 40.0
# While a page is being sent the broadcast is due again only after this: the scheduler retakes a
# broadcast whose next page was lost, never one that is being worked on.
LEASE = timedelta(minutes=2)
_RECIPIENT_STATUS = {
    "sent": "sent",
    "delivered": "sent",
    "read": "sent",
    "failed": "failed",
    "unknown": "unknown",
}


@dataclass(frozen=True)
class BroadcastSpec:
    name: str
    tag_id: str
    channel: str  # whatsapp | messenger | instagram
    content: OutboundContent
    send_at: datetime | None = None


def _due_sort_key(broadcast: Broadcast, at: datetime) -> str:
    return f"{to_millis(at):013d}#{broadcast.workspace_id}#{broadcast.broadcast_id}"


def _due(broadcast: Broadcast, at: datetime) -> None:
    broadcast.gsi2pk = BROADCAST_SHARD
    broadcast.gsi2sk = _due_sort_key(broadcast, at)


def create_broadcast(workspace_id: str, spec: BroadcastSpec, created_by: str) -> Broadcast:
    get_tag(workspace_id, spec.tag_id)  # 404 for an unknown tag
    now = utcnow()
    broadcast_id = new_id("bct")
    content: dict[str, Any] = {}
    if spec.content.text:
        content["text"] = spec.content.text
    if spec.content.template:
        content["template"] = spec.content.template
    if spec.content.attachments:
        content["attachments"] = spec.content.attachments
    if spec.content.buttons:
        content["buttons"] = spec.content.buttons
    broadcast = Broadcast(
        *Broadcast.key(workspace_id, broadcast_id),
        workspace_id=workspace_id,
        broadcast_id=broadcast_id,
        name=spec.name,
        tag_id=spec.tag_id,
        channel=spec.channel,
        content=content,
        status="scheduled",
        created_by=created_by,
        created_at=now,
        send_at=spec.send_at or now,
        sent=0,
        failed=0,
        skipped=0,
    )
    _due(broadcast, spec.send_at or now)
    broadcast.save(condition=Broadcast.pk.does_not_exist())
    return broadcast


def get_broadcast(workspace_id: str, broadcast_id: str) -> Broadcast:
    try:
        return Broadcast.get(*Broadcast.key(workspace_id, broadcast_id), consistent_read=True)
    except Broadcast.DoesNotExist:
        raise NotFound("No such broadcast") from None


def list_broadcasts(workspace_id: str, limit: int = 100) -> list[Broadcast]:
    """Newest first (ids are time-ordered)."""
    partition = Broadcast.key(workspace_id, "")[0]
    return [
        item
        for item in Broadcast.query(partition, scan_index_forward=False, limit=limit)
        if isinstance(item, Broadcast)
    ]


def recipients(workspace_id: str, broadcast_id: str, limit: int = 100) -> list[BroadcastRecipient]:
    get_broadcast(workspace_id, broadcast_id)
    return [
        item
        for item in BroadcastRecipient.query(
            Broadcast.recipients_pk(workspace_id, broadcast_id),
            BroadcastRecipient.sk.startswith("RCPT#"),
            limit=limit,
        )
        if isinstance(item, BroadcastRecipient)
    ]


def cancel_broadcast(workspace_id: str, broadcast_id: str) -> Broadcast:
    broadcast = get_broadcast(workspace_id, broadcast_id)
    try:
        broadcast.update(
            actions=[Broadcast.status.set("cancelled"), Broadcast.gsi2pk.remove(), Broadcast.gsi2sk.remove()],
            condition=Broadcast.status.is_in("scheduled", "running"),
        )
    except UpdateError as error:
        if condition_failed(error):
            raise Conflict("The broadcast has already finished", {"status": broadcast.status}) from None
        raise
    return broadcast


# ------------------------------------------------------------------ processing (scheduler)


def due_broadcasts(now: datetime) -> list[Broadcast]:
    upper = f"{to_millis(now):013d}#~"
    return [
        item
        for item in Broadcast.due_index.query(BROADCAST_SHARD, Broadcast.gsi2sk <= upper, limit=100)
        if isinstance(item, Broadcast)
    ]


def lease(broadcast: Broadcast, now: datetime) -> bool:
    """Take a due broadcast for one page of work; False if another scheduler run took it."""
    try:
        broadcast.update(
            actions=[Broadcast.gsi2sk.set(_due_sort_key(broadcast, now + LEASE))],
            condition=(Broadcast.gsi2sk == (broadcast.gsi2sk or ""))
            & Broadcast.status.is_in("scheduled", "running"),
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _cancelled(broadcast: Broadcast) -> bool:
    current = Broadcast.get(broadcast.pk, broadcast.sk, consistent_read=True, attributes_to_get=["status"])
    return current.status == "cancelled"


def _recipient_conversation(contact: Contact, channel: str) -> str | None:
    for ref in contact.identities or []:
        if ref.platform != channel:
            continue
        try:
            identity = Identity.get(*Identity.key(contact.workspace_id, ref.identity_id))
        except Identity.DoesNotExist:
            continue
        if identity.conversation_id and not identity.blocked and not identity.moved_to:
            return identity.conversation_id
    return None


def _record(broadcast: Broadcast, contact_id: str, status: str, **fields: Any) -> bool:
    """One recipient record per contact, written once; False if an earlier run already has it."""
    recipient = BroadcastRecipient(
        Broadcast.recipients_pk(broadcast.workspace_id, broadcast.broadcast_id),
        f"RCPT#{contact_id}",
        contact_id=contact_id,
        status=status,
        created_at=utcnow(),
        **fields,
    )
    try:
        recipient.save(condition=BroadcastRecipient.pk.does_not_exist())
    except PutError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _send_to(broadcast: Broadcast, contact: Contact, pace: _Pacer) -> str:
    if contact.blocked:
        return "skipped" if _record(broadcast, contact.contact_id, "skipped", reason="blocked") else "done"
    conversation_id = _recipient_conversation(contact, broadcast.channel)
    if conversation_id is None:
        recorded = _record(
            broadcast, contact.contact_id, "skipped", reason=f"no_{broadcast.channel}_conversation"
        )
        return "skipped" if recorded else "done"
    if not _record(broadcast, contact.contact_id, "sending", conversation_id=conversation_id):
        existing = BroadcastRecipient.get(
            Broadcast.recipients_pk(broadcast.workspace_id, broadcast.broadcast_id),
            f"RCPT#{contact.contact_id}",
        )
        if existing.status != "sending":
            return "done"  # finished by an earlier run
    stored = broadcast.content.as_dict() if broadcast.content else {}
    spec = SendSpec(
        content=OutboundContent(
            text=stored.get("text"),
            template=stored.get("template"),
            attachments=stored.get("attachments") or [],
            buttons=stored.get("buttons") or [],
        ),
        idempotency_key=f"broadcast:{broadcast.broadcast_id}:{contact.contact_id}",
    )
    author = Author(Sender.AUTOMATION, broadcast.broadcast_id)
    pace.wait()
    try:
        message = send_message(broadcast.workspace_id, conversation_id, spec, author).message
        # Sent only once Meta accepted it; a message still on its way (or unknown) says so.
        status = _RECIPIENT_STATUS.get(message.status or "", "pending")
        reason = message.error_code
        message_id: str | None = message.message_id
    except Conflict as refused:
        status, reason, message_id = "failed", (refused.details or {}).get("reason_code", "refused"), None
    recipient = BroadcastRecipient(
        Broadcast.recipients_pk(broadcast.workspace_id, broadcast.broadcast_id), f"RCPT#{contact.contact_id}"
    )
    actions: list[Any] = [BroadcastRecipient.status.set(status)]
    if reason:
        actions.append(BroadcastRecipient.reason.set(reason))
    if message_id:
        actions.append(BroadcastRecipient.message_id.set(message_id))
    recipient.update(actions=actions)
    return status


class _Pacer:
    def __init__(self, per_second: int) -> None:
        self.interval = 1.0 / per_second
        self.next_at = time.monotonic()

    def wait(self) -> None:
        now = time.monotonic()
        if now < self.next_at:
            time.sleep(self.next_at - now)
        self.next_at = max(now, self.next_at) + self.interval


def process_page(broadcast: Broadcast, has_time: Callable[[], bool]) -> bool:
    """Send one page of recipients from the stored cursor, while there is time and the broadcast is
    not cancelled. True when the broadcast is finished (or cancelled)."""
    counts = {"sent": 0, "failed": 0, "skipped": 0}
    try:
        broadcast.update(
            actions=[
                Broadcast.status.set("running"),
                Broadcast.started_at.set(broadcast.started_at or utcnow()),
            ],
            condition=Broadcast.status.is_in("scheduled", "running"),
        )
    except UpdateError as error:
        if condition_failed(error):
            return True  # cancelled meanwhile
        raise
    pace = _Pacer(SENDS_PER_SECOND)
    page = search_contacts(
        broadcast.workspace_id, ContactFilter(tag=broadcast.tag_id), PAGE_SIZE, broadcast.cursor
    )
    whole_page = True
    for contact in page.items:
        if not has_time():
            whole_page = False  # the next delivery re-reads this page; recipients done are skipped
            break
        if _cancelled(broadcast):
            return True  # what has not left stays unsent
        result = _send_to(broadcast, contact, pace)
        if result in counts:
            counts[result] += 1
    cursor = page.next_cursor if whole_page else broadcast.cursor
    done = whole_page and cursor is None
    actions: list[Any] = [
        Broadcast.sent.add(counts["sent"]),
        Broadcast.failed.add(counts["failed"]),
        Broadcast.skipped.add(counts["skipped"]),
    ]
    if done:
        actions += [
            Broadcast.status.set("done"),
            Broadcast.finished_at.set(utcnow()),
            Broadcast.cursor.remove(),
            Broadcast.gsi2pk.remove(),
            Broadcast.gsi2sk.remove(),
        ]
    else:
        actions.append(Broadcast.gsi2sk.set(_due_sort_key(broadcast, utcnow() + LEASE)))
        if cursor:
            actions.append(Broadcast.cursor.set(cursor))
    try:
        broadcast.update(actions=actions, condition=Broadcast.status == "running")
    except UpdateError as error:
        if condition_failed(error):
            return True  # cancelled while this page was sent
        raise
    logger.info("broadcast page processed", extra={"broadcast_id": broadcast.broadcast_id, **counts})
    return done


def process_broadcast(broadcast: Broadcast, budget_seconds: float = RUN_BUDGET_SECONDS) -> bool:
    """Pages until done or out of budget (one page at least). True when the broadcast is finished."""
    started = time.monotonic()
    while True:
        if process_page(broadcast, lambda: True):
            return True
        if time.monotonic() - started > budget_seconds:
            return False


def process_due_broadcasts(now: datetime | None = None) -> int:
    processed = 0
    for broadcast in due_broadcasts(now or utcnow()):
        process_broadcast(broadcast)
        processed += 1
    return processed
