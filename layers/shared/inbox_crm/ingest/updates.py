"""Changes to a stored message by its sender: reactions, edits and Instagram unsends."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError

from inbox_crm.core.timeutil import from_millis, utcnow
from inbox_crm.inbox.messages import message_id_for
from inbox_crm.ingest.context import Context, IngestResult, set_or_remove, target
from inbox_crm.store.maps import compact
from inbox_crm.store.models import Conversation, Message, MessagePointer
from inbox_crm.store.transactions import condition_failed, save_if_absent


def apply_reaction(context: Context) -> IngestResult:
    unit = context.unit
    assert unit.reaction is not None
    assert unit.customer_id is not None
    _, message = target(context, unit.reaction.target_message_id)
    if message is None:
        return IngestResult("ignored")
    reactions = dict(message.reactions.as_dict() if message.reactions else {})
    current = reactions.get(unit.customer_id) or {}
    if int(current.get("at", 0)) > unit.timestamp_ms:
        return IngestResult("ignored")  # a newer reaction by the same person was already applied
    if unit.reaction.action == "unreact":
        reactions.pop(unit.customer_id, None)
    else:
        reactions[unit.customer_id] = compact(
            {"emoji": unit.reaction.emoji, "reaction": unit.reaction.reaction, "at": unit.timestamp_ms}
        )
    message.update(actions=[set_or_remove(Message.reactions, reactions or None)])
    _touch_window(context, message.conversation_id)
    return IngestResult("updated")


def _touch_window(context: Context, conversation_id: str) -> None:
    """User-originated events that are not messages (reactions) still move the 24-hour clock."""
    at = from_millis(context.unit.timestamp_ms)
    conversation = Conversation(*Conversation.key(context.workspace_id, conversation_id))
    try:
        conversation.update(
            actions=[Conversation.last_inbound_at.set(at)],
            condition=Conversation.pk.exists()
            & (Conversation.last_inbound_at.does_not_exist() | (Conversation.last_inbound_at < at)),
        )
    except UpdateError as error:
        if not condition_failed(error):  # an older clock value is the expected case
            raise


def apply_edit(context: Context) -> IngestResult:
    unit = context.unit
    assert unit.edit is not None
    _, message = target(context, unit.edit.target_message_id)
    if message is None or message.deleted:
        return IngestResult("ignored")
    edits = list(message.edits or [])
    number = unit.edit.num_edit if unit.edit.num_edit is not None else len(edits) + 1
    if any(int(edit.get("num_edit", 0)) >= number for edit in edits):
        return IngestResult("duplicate")
    edits.append(compact({"previous_text": message.text, "num_edit": number, "at": unit.timestamp_ms}))
    cut = [Message.truncated.set(True)] if unit.truncated else []
    message.update(actions=[set_or_remove(Message.text, unit.edit.text), Message.edits.set(edits), *cut])
    return IngestResult("updated")


def apply_delete(context: Context) -> IngestResult:
    """Instagram unsend: redact our copy, keep a tombstone; if the original comes later it stays redacted."""
    unit = context.unit
    assert unit.platform_message_id is not None
    message_id = message_id_for(unit.platform, unit.account_id, unit.platform_message_id)
    pointer, message = target(context, unit.platform_message_id)
    if pointer is None:
        tombstone = MessagePointer(
            *MessagePointer.key(context.workspace_id, message_id),
            message_id=message_id,
            state="deleted",
            created_at=utcnow(),
        )
        if not save_if_absent(tombstone):
            return apply_delete(context)  # the message won the race: redact it instead
        return IngestResult("recorded")
    if message is None or message.deleted:
        return IngestResult("duplicate")
    redact: list[Any] = [
        Message.deleted.set(True),
        Message.text.remove(),
        Message.attachments.remove(),
        Message.edits.remove(),
    ]
    message.update(actions=redact)
    return IngestResult("updated")
