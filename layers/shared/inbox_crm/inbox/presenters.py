"""How conversations and messages look in API answers."""

from __future__ import annotations

from typing import Any

from inbox_crm.core.timeutil import from_millis, to_millis, utcnow
from inbox_crm.inbox.messages import STATUS_RANK
from inbox_crm.inbox.schemas import (
    AttachmentOut,
    ConversationOut,
    EditOut,
    MessageOut,
    ReplyWindowOut,
    StatusChangeOut,
)
from inbox_crm.meta.policy import Sender, free_form_until
from inbox_crm.store.models import Conversation, Message


def conversation_out(conversation: Conversation) -> ConversationOut:
    now = utcnow()
    standard_until = free_form_until(conversation.platform, conversation.last_inbound_at, Sender.AUTOMATION)
    human_until = free_form_until(conversation.platform, conversation.last_inbound_at, Sender.HUMAN)
    human_until = human_until if human_until != standard_until else None
    return ConversationOut(
        id=conversation.conversation_id,
        channel=conversation.platform,  # type: ignore[arg-type]
        channel_id=conversation.channel_id,
        kind=conversation.kind,  # type: ignore[arg-type]
        status=conversation.status,  # type: ignore[arg-type]
        identity_id=conversation.identity_id,
        contact_id=conversation.contact_id,
        registered=conversation.contact_id is not None,
        display_name=conversation.display_name,
        handle=conversation.handle,
        post_id=conversation.post_id,
        assignee_id=conversation.assignee_id,
        last_preview=conversation.last_preview,
        last_activity_at=conversation.last_activity_at,
        last_inbound_at=conversation.last_inbound_at,
        unread_count=int(conversation.unread_count or 0),
        reply_window=ReplyWindowOut(
            open=any(until is not None and until > now for until in (standard_until, human_until)),
            standard_until=standard_until,
            human_agent_until=human_until,
        ),
    )


def _effective_status(message: Message, conversation: Conversation) -> str | None:
    """Messenger reports delivery and reads as watermarks on the conversation, not per message."""
    if message.direction != "outbound" or message.status in (None, "failed"):
        return message.status
    sent_ms = to_millis(message.sent_at)
    rank = STATUS_RANK.get(message.status, 0)
    if conversation.read_watermark and sent_ms <= conversation.read_watermark and rank < STATUS_RANK["read"]:
        return "read"
    if conversation.delivered_watermark and sent_ms <= conversation.delivered_watermark and rank < 2:
        return "delivered"
    return message.status


def _as_time(value: Any) -> Any:
    return from_millis(int(value)) if isinstance(value, int | float) else value


def _attachment_out(stored: dict[str, Any]) -> AttachmentOut:
    key = stored.pop("storage_key", None)
    attachment = AttachmentOut.model_validate(stored)
    if key:
        from inbox_crm.media.storage import presigned_download

        attachment.download_url = presigned_download(key, filename=attachment.filename or attachment.title)
    return attachment


def message_out(message: Message, conversation: Conversation) -> MessageOut:
    return MessageOut(
        id=message.message_id,
        conversation_id=message.conversation_id,
        platform_message_id=message.platform_message_id,
        direction=message.direction,  # type: ignore[arg-type]
        kind=message.kind,
        origin=message.origin,
        sent_at=message.sent_at,
        text=message.text,
        attachments=[_attachment_out(item.as_dict()) for item in message.attachments or []],
        reply_to=message.reply_to,
        reactions=message.reactions.as_dict() if message.reactions else {},
        edits=[
            EditOut.model_validate({**edit, "at": _as_time(edit.get("at"))}) for edit in message.edits or []
        ],
        deleted=bool(message.deleted),
        standby=bool(message.standby),
        truncated=bool(message.truncated),
        status=_effective_status(message, conversation),
        status_history=[
            StatusChangeOut.model_validate({**change, "at": _as_time(change.get("at"))})
            for change in message.status_history or []
        ],
        error_code=message.error_code,
        error_reason=message.error_reason,
        data=message.data.as_dict() if message.data else {},
    )
