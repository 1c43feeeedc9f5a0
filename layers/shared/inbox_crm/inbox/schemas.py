"""Request and response bodies of the inbox: conversations and their messages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from inbox_crm.http.schemas import Platform, Strict


class ReplyWindowOut(BaseModel):
    open: bool = Field(description="Whether an agent may send a free-form reply now")
    standard_until: datetime | None = Field(None, description="End of the 24-hour standard window")
    human_agent_until: datetime | None = Field(
        None, description="Messenger/Instagram: end of the 7-day HUMAN_AGENT window for agents' replies"
    )


class ConversationOut(BaseModel):
    id: str
    channel: Platform
    channel_id: str
    kind: Literal["direct", "comment"]
    status: Literal["open", "closed"]
    identity_id: str
    contact_id: str | None = Field(None, description="null while the sender is not a registered contact")
    registered: bool
    display_name: str | None = None
    handle: str | None = None
    post_id: str | None = None
    assignee_id: str | None = None
    last_preview: str | None = None
    last_activity_at: datetime
    last_inbound_at: datetime | None = None
    unread_count: int
    reply_window: ReplyWindowOut


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None = None


class AttachmentOut(BaseModel):
    type: str
    url: str | None = None
    media_id: str | None = None
    mime_type: str | None = None
    title: str | None = None
    caption: str | None = None
    filename: str | None = None
    sticker_id: str | None = None
    voice: bool | None = None
    payload: dict[str, Any] | None = None
    size: int | None = None
    download_url: str | None = Field(None, description="Our copy (WhatsApp media), valid for an hour")


class EditOut(BaseModel):
    previous_text: str | None = None
    at: datetime | None = None
    num_edit: int | None = None


class StatusChangeOut(BaseModel):
    status: str
    at: datetime | None = None
    error_code: int | str | None = None
    error_title: str | None = None
    error_message: str | None = None


class MessageOut(BaseModel):
    id: str
    conversation_id: str
    platform_message_id: str | None = None
    direction: Literal["inbound", "outbound"]
    kind: str
    origin: str | None = None
    sent_at: datetime
    text: str | None = None
    attachments: list[AttachmentOut] = Field(default_factory=list)
    reply_to: str | None = None
    reactions: dict[str, dict[str, Any]] = Field(default_factory=dict)
    edits: list[EditOut] = Field(default_factory=list)
    deleted: bool = False
    standby: bool = False
    truncated: bool = Field(False, description="Too large as sent: the text or payload was cut to fit")
    status: str | None = None
    status_history: list[StatusChangeOut] = Field(default_factory=list)
    error_code: str | None = None
    error_reason: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None = Field(None, description="Cursor for older messages")


class AssignIn(Strict):
    assignee_id: Annotated[str | None, Field(max_length=64, description="A user id; null unassigns")] = None
