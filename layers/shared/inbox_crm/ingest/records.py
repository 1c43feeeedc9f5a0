"""The records one inbound unit reads and writes: the consistent read of its pointer, identity and
conversation, and the new message, identity, conversation and counters it stores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inbox_crm.core.timeutil import from_millis, utcnow
from inbox_crm.inbox.index import index as _index
from inbox_crm.inbox.messages import STATUS_RANK, preview_of
from inbox_crm.ingest.context import Context
from inbox_crm.meta.units import InboundUnit
from inbox_crm.store.maps import compact
from inbox_crm.store.models import (
    Attachment,
    Conversation,
    Identity,
    IdentityConversation,
    InboxItem,
    Message,
    MessagePointer,
)


@dataclass
class Snapshot:
    pointer: MessagePointer | None
    identity: Identity | None
    conversation: Conversation | None


def read_snapshot(
    workspace_id: str, message_id: str | None, identity_id: str, conversation_id: str
) -> Snapshot:
    keys = [Identity.key(workspace_id, identity_id), Conversation.key(workspace_id, conversation_id)]
    if message_id:
        keys.append(MessagePointer.key(workspace_id, message_id))
    found = {(item.pk, item.sk): item for item in InboxItem.batch_get(keys, consistent_read=True)}
    pointer = found.get(MessagePointer.key(workspace_id, message_id)) if message_id else None
    identity = found.get(Identity.key(workspace_id, identity_id))
    conversation = found.get(Conversation.key(workspace_id, conversation_id))
    return Snapshot(
        pointer if isinstance(pointer, MessagePointer) else None,
        identity if isinstance(identity, Identity) else None,
        conversation if isinstance(conversation, Conversation) else None,
    )


def _attachments(unit: InboundUnit) -> list[Attachment] | None:
    if not unit.attachments:
        return None
    return [Attachment(**compact(attachment.model_dump())) for attachment in unit.attachments]


def _message_data(unit: InboundUnit) -> dict[str, Any] | None:
    data = compact(
        {
            "quick_reply_payload": unit.quick_reply_payload,
            "postback": unit.postback,
            "referral": unit.referral,
            "interactive": unit.interactive,
            "reply_to_story": unit.reply_to_story,
            "forwarded": unit.forwarded or None,
            "unsupported": unit.unsupported or None,
            "errors": unit.errors,
            "comment": unit.comment.model_dump() if unit.comment else None,
            "echo_app_id": unit.echo_app_id,
            "echo_metadata": unit.echo_metadata,
        }
    )
    return data or None


def build_message(
    context: Context,
    conversation_id: str,
    message_id: str,
    *,
    direction: str,
    kind: str,
    origin: str,
    deleted: bool = False,
) -> Message:
    unit = context.unit
    sent_at_ms = unit.timestamp_ms
    text = unit.text
    if unit.postback and not text:
        text = unit.postback.get("title")
    message = Message(
        Conversation.pk_for(context.workspace_id, conversation_id),
        Message.sk_for(sent_at_ms, message_id),
        workspace_id=context.workspace_id,
        conversation_id=conversation_id,
        message_id=message_id,
        platform_message_id=unit.platform_message_id,
        direction=direction,
        kind=kind,
        origin=origin,
        sent_at=from_millis(sent_at_ms),
        text=None if deleted else text,
        attachments=None if deleted else _attachments(unit),
        data=_message_data(unit),
        reply_to=unit.reply_to_message_id,
        deleted=deleted,
        standby=unit.standby,
        truncated=unit.truncated or None,
        created_at=utcnow(),
    )
    if direction == "outbound":
        message.status = "sent"
        message.status_rank = STATUS_RANK["sent"]
    return message


def build_identity(context: Context, identity_id: str, conversation_id: str) -> Identity:
    unit = context.unit
    assert unit.customer_id is not None
    phone = f"+{unit.customer_id}" if unit.platform == "whatsapp" and unit.customer_id.isdigit() else None
    return Identity(
        *Identity.key(context.workspace_id, identity_id),
        workspace_id=context.workspace_id,
        identity_id=identity_id,
        channel_id=context.route.channel_id,
        platform=unit.platform,
        account_id=unit.account_id,
        external_id=unit.customer_id,
        bsuid=unit.customer_bsuid,
        username=unit.customer_username,
        phone=phone,
        display_name=unit.customer_name or unit.customer_username or phone,
        conversation_id=conversation_id,
        created_at=utcnow(),
    )


def build_conversation(
    context: Context, identity: Identity, conversation_id: str, *, kind: str, post_id: str | None
) -> Conversation:
    now = utcnow()
    conversation = Conversation(
        *Conversation.key(context.workspace_id, conversation_id),
        workspace_id=context.workspace_id,
        conversation_id=conversation_id,
        channel_id=identity.channel_id,
        platform=identity.platform,
        kind=kind,
        identity_id=identity.identity_id,
        contact_id=identity.contact_id,
        status="open",
        post_id=post_id,
        display_name=identity.display_name,
        handle=identity.username or identity.phone or identity.external_id,
        last_activity_at=from_millis(context.unit.timestamp_ms),
        hidden=identity.blocked,
        created_at=now,
    )
    _index(conversation)
    return conversation


def conversation_link(
    workspace_id: str, identity_id: str, conversation_id: str, at_ms: int
) -> IdentityConversation:
    return IdentityConversation(
        Identity.pk_for(workspace_id, identity_id),
        f"CONV#{at_ms:013d}#{conversation_id}",
        identity_id=identity_id,
        conversation_id=conversation_id,
        created_at=utcnow(),
    )


def pointer_for(workspace_id: str, message: Message) -> MessagePointer:
    return MessagePointer(
        *MessagePointer.key(workspace_id, message.message_id),
        message_id=message.message_id,
        conversation_id=message.conversation_id,
        message_sk=message.sk,
        state="stored",
        created_at=utcnow(),
    )


def conversation_update(
    conversation: Conversation, message: Message, *, counts_as_unread: bool, moves_window: bool
) -> tuple[list[Any], Any]:
    """Actions for a new message and the condition that what they replace is what we read.

    Older messages arriving late change no ordering field; counters commute and need no condition.
    """
    actions: list[Any] = []
    condition: Any = Conversation.pk.exists() & (Conversation.status == conversation.status)
    newest = conversation.last_message_at is None or message.sent_at >= conversation.last_message_at
    if newest:
        previous = conversation.last_message_at
        condition &= (
            Conversation.last_message_at.does_not_exist()
            if previous is None
            else Conversation.last_message_at == previous
        )
        conversation.last_message_at = message.sent_at
        conversation.last_preview = preview_of(message.text, message.attachments, message.kind)
        actions += [
            Conversation.last_message_at.set(message.sent_at),
            Conversation.last_preview.set(conversation.last_preview),
        ]
    if message.sent_at > conversation.last_activity_at:
        conversation.last_activity_at = message.sent_at
        actions.append(Conversation.last_activity_at.set(message.sent_at))
    if moves_window and (
        conversation.last_inbound_at is None or message.sent_at > conversation.last_inbound_at
    ):
        previous_inbound = conversation.last_inbound_at
        condition &= (
            Conversation.last_inbound_at.does_not_exist()
            if previous_inbound is None
            else Conversation.last_inbound_at == previous_inbound
        )
        conversation.last_inbound_at = message.sent_at
        actions.append(Conversation.last_inbound_at.set(message.sent_at))
    if counts_as_unread:
        actions.append(Conversation.unread_count.add(1))
    return actions, condition


def get_conversation(workspace_id: str, conversation_id: str) -> Conversation | None:
    try:
        return Conversation.get(*Conversation.key(workspace_id, conversation_id), consistent_read=True)
    except Conversation.DoesNotExist:
        return None
