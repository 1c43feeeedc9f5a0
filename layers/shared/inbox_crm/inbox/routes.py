"""The inbox: GET /v1/conversations, /v1/conversations/{id}, /v1/conversations/{id}/messages."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import Field

from inbox_crm.core.timeutil import from_millis, to_millis, utcnow
from inbox_crm.http.errors_doc import documented
from inbox_crm.http.schemas import (
    AttachmentOut,
    ConversationOut,
    ConversationPage,
    EditOut,
    MessageOut,
    MessagePage,
    ReplyWindowOut,
    StatusChangeOut,
    Strict,
)
from inbox_crm.inbox import conversations
from inbox_crm.inbox.messages import STATUS_RANK
from inbox_crm.meta.policy import Sender, free_form_until
from inbox_crm.store.models import Conversation, Message
from inbox_crm.workspaces.principal import principal_of

router = Router()


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


@router.get(
    "/v1/conversations",
    summary="The inbox, newest activity first",
    tags=["inbox"],
    responses=documented(200, ConversationPage, "A page of conversations", 400, 401, 422),
)
def list_conversations(
    status: Annotated[Literal["open", "closed"], Query()] = "open",
    channel: Annotated[Literal["messenger", "instagram", "whatsapp"] | None, Query()] = None,
    registered: Annotated[bool | None, Query(description="Only senders who are (not) contacts")] = None,
    assignee: Annotated[str | None, Query(description="A user id, 'me' or 'none'", max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> ConversationPage:
    principal = principal_of(router)
    principal.require("conversations.read")
    criteria = conversations.InboxFilter(
        status=status,
        channel=channel,
        registered=registered,
        assignee=principal.user_id if assignee == "me" else assignee,
    )
    page = conversations.list_conversations(principal.workspace_id, criteria, limit, cursor)
    return ConversationPage(
        items=[conversation_out(item) for item in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/v1/conversations/<conversation_id>",
    summary="One conversation",
    tags=["inbox"],
    responses=documented(200, ConversationOut, "The conversation", 401, 404),
)
def get_conversation(conversation_id: str) -> ConversationOut:
    principal = principal_of(router)
    principal.require("conversations.read")
    return conversation_out(conversations.get_conversation(principal.workspace_id, conversation_id))


@router.get(
    "/v1/conversations/<conversation_id>/messages",
    summary="A conversation's messages, in platform-time order; the cursor pages to older ones",
    tags=["inbox"],
    responses=documented(200, MessagePage, "A page of messages", 400, 401, 404, 422),
)
def list_messages(
    conversation_id: str,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> MessagePage:
    principal = principal_of(router)
    principal.require("conversations.read")
    conversation, page = conversations.list_messages(principal.workspace_id, conversation_id, limit, cursor)
    return MessagePage(
        items=[message_out(item, conversation) for item in page.items], next_cursor=page.next_cursor
    )


class AssignIn(Strict):
    assignee_id: Annotated[str | None, Field(max_length=64, description="A user id; null unassigns")] = None


def _change(user_id: str) -> conversations.Change:
    """Who changes it; the request's id correlates (the events' ids derive from the change itself)."""
    request_id = router.current_event.raw_event.get("requestContext", {}).get("requestId")
    return conversations.Change(by=user_id, correlation_id=request_id)


@router.post(
    "/v1/conversations/<conversation_id>/close",
    summary="Close a conversation (a new customer message reopens it)",
    tags=["inbox"],
    responses=documented(200, ConversationOut, "Closed", 401, 404, 409),
)
def close(conversation_id: str) -> ConversationOut:
    principal = principal_of(router)
    principal.require("conversations.work")
    conversation, _ = conversations.close_conversation(
        principal.workspace_id, conversation_id, _change(principal.user_id)
    )
    return conversation_out(conversation)


@router.post(
    "/v1/conversations/<conversation_id>/reopen",
    summary="Reopen a closed conversation",
    tags=["inbox"],
    responses=documented(200, ConversationOut, "Open", 401, 404, 409),
)
def reopen(conversation_id: str) -> ConversationOut:
    principal = principal_of(router)
    principal.require("conversations.work")
    conversation, _ = conversations.reopen_conversation(
        principal.workspace_id, conversation_id, _change(principal.user_id)
    )
    return conversation_out(conversation)


@router.post(
    "/v1/conversations/<conversation_id>/assign",
    summary="Assign the conversation to a member of the workspace (or unassign)",
    tags=["inbox"],
    responses=documented(200, ConversationOut, "Assigned", 400, 401, 404, 422),
)
def assign(conversation_id: str, body: AssignIn) -> ConversationOut:
    principal = principal_of(router)
    principal.require("conversations.work")
    conversations.assign_conversation(
        principal.workspace_id, conversation_id, body.assignee_id, _change(principal.user_id)
    )
    conversation = conversations.get_conversation(principal.workspace_id, conversation_id)
    return conversation_out(conversation)


@router.post(
    "/v1/conversations/<conversation_id>/read",
    summary="Mark the conversation's messages as read by the team",
    tags=["inbox"],
    responses=documented(200, ConversationOut, "Read", 401, 404),
)
def mark_read(conversation_id: str) -> ConversationOut:
    principal = principal_of(router)
    principal.require("conversations.read")
    conversations.mark_read(principal.workspace_id, conversation_id)
    return conversation_out(conversations.get_conversation(principal.workspace_id, conversation_id))
