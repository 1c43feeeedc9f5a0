"""Receipts of our messages: Messenger / Instagram delivery and read watermarks, WhatsApp statuses."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError

from inbox_crm.core.timeutil import to_millis, utcnow
from inbox_crm.events.outbox import stage
from inbox_crm.inbox.messages import STATUS_RANK, message_id_for
from inbox_crm.ingest.context import Context, IngestResult, new_event, set_or_remove, target
from inbox_crm.ingest.ids import direct_conversation_id, identity_id_for
from inbox_crm.meta.units import UnitKind
from inbox_crm.store.maps import compact
from inbox_crm.store.models import Conversation, Message, MessagePointer
from inbox_crm.store.transactions import TransactionConflict, condition_failed, save_if_absent, transaction


def apply_watermark(context: Context) -> IngestResult:
    """Messenger delivery / read watermarks: outbound messages at or before them are delivered / read."""
    unit = context.unit
    assert unit.customer_id is not None
    identity_id = identity_id_for(unit.platform, unit.account_id, unit.customer_id)
    if unit.watermark_ms is None:
        # Instagram "seen" names a message: its time is the watermark.
        _, message = target(context, unit.platform_message_id or "")
        if message is None:
            return IngestResult("ignored")
        watermark = to_millis(message.sent_at)
        conversation_id = message.conversation_id
    else:
        watermark = unit.watermark_ms
        conversation_id = direct_conversation_id(identity_id)
    attribute = (
        Conversation.read_watermark if unit.kind == UnitKind.READ else Conversation.delivered_watermark
    )
    conversation = Conversation(*Conversation.key(context.workspace_id, conversation_id))
    try:
        conversation.update(
            actions=[attribute.set(watermark)], condition=Conversation.pk.exists() & (attribute < watermark)
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return IngestResult("ignored")  # an older or equal watermark changes nothing
    return IngestResult("updated")


def apply_status(context: Context) -> IngestResult:
    """WhatsApp statuses of our messages: monotonic; failed is terminal and keeps Meta's reason."""
    unit = context.unit
    assert unit.status is not None
    assert unit.platform_message_id is not None
    new_rank = STATUS_RANK.get(unit.status.status, 0)
    message_id = message_id_for(unit.platform, unit.account_id, unit.platform_message_id)
    pointer, message = target(context, unit.platform_message_id)
    if message is None and pointer is None and unit.status.callback_data:
        from inbox_crm.outbound import settle  # rare path: kept out of the cold start

        # A send whose answer we lost: the status names it by our id (biz_opaque_callback_data).
        message = settle.settle_by_callback(
            context.workspace_id,
            unit.status.callback_data,
            unit.platform,
            unit.account_id,
            unit.platform_message_id,
        )
    status_record = compact(
        {
            "status": unit.status.status,
            "at": unit.timestamp_ms,
            "error_code": unit.status.error_code,
            "error_title": unit.status.error_title,
            "error_message": unit.status.error_message,
        }
    )
    if message is None:
        if pointer is None:
            # Our send has not recorded the wamid yet: keep the status for it.
            early = MessagePointer(
                *MessagePointer.key(context.workspace_id, message_id),
                message_id=message_id,
                state="status_first",
                early_status=status_record,
                created_at=utcnow(),
            )
            save_if_absent(early)
            return IngestResult("recorded")
        return IngestResult("ignored")
    current_rank = int(message.status_rank or 0)
    if current_rank == STATUS_RANK["failed"] or new_rank <= current_rank:
        return IngestResult("duplicate" if message.status == unit.status.status else "ignored")
    actions: list[Any] = [
        Message.status.set(unit.status.status),
        Message.status_rank.set(new_rank),
        Message.status_history.set([*(message.status_history or []), status_record]),
    ]
    if unit.status.status == "failed":
        code = str(unit.status.error_code) if unit.status.error_code else None
        actions += [
            set_or_remove(Message.error_code, code),
            set_or_remove(Message.error_reason, unit.status.error_message or unit.status.error_title),
        ]
    data = {
        "conversation_id": message.conversation_id,
        "message_id": message.message_id,
        "status": unit.status.status,
        "channel": unit.platform,
        "error_code": unit.status.error_code,
    }
    events = [new_event(context, "MessageStatusChanged", f"{message.message_id}:{unit.status.status}", data)]
    try:
        with transaction() as tx:  # the status and its event: one request, both or neither
            tx.update(
                message,
                actions=actions,
                condition=(Message.status_rank.does_not_exist() | (Message.status_rank < new_rank))
                & (Message.status_rank != STATUS_RANK["failed"]),
            )
            stage(tx, events)
    except TransactionConflict:
        return IngestResult("ignored")  # a concurrent newer status won
    return IngestResult("updated", events)
