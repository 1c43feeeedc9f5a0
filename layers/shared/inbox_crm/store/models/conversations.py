"""Conversations, their messages and what sending needs (idempotency keys, private replies,
uploads)."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from inbox_crm.store.models.base import InboxItem, ws_pk


class Conversation(InboxItem, discriminator="Conversation"):
    workspace_id = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    channel_id = UnicodeAttribute()
    platform = UnicodeAttribute()
    kind = UnicodeAttribute(default="direct")  # direct | comment
    identity_id = UnicodeAttribute()
    contact_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="open")  # open | closed
    assignee_id = UnicodeAttribute(null=True)
    post_id = UnicodeAttribute(null=True)
    display_name = UnicodeAttribute(null=True)
    handle = UnicodeAttribute(null=True)
    last_activity_at = UTCDateTimeAttribute()
    last_inbound_at = UTCDateTimeAttribute(null=True)  # the 24-hour window clock
    last_preview = UnicodeAttribute(null=True)
    last_message_at = UTCDateTimeAttribute(null=True)  # platform time of the newest message
    unread_count = NumberAttribute(default=0)
    delivered_watermark = NumberAttribute(default=0)  # ms: outbound at or before it is delivered
    read_watermark = NumberAttribute(default=0)
    hidden = BooleanAttribute(default=False)  # blocked contact: stored, not shown
    # Numbers the changes agents and flows make (status, assignee): the cause their events' ids
    # derive from (inbox/conversations.py), so a replayed request announces nothing new.
    revision = NumberAttribute(default=0)
    # No VersionAttribute: messages land concurrently and their counters commute; writers put
    # conditions on exactly the fields they change (see ingest/records.py).

    @staticmethod
    def pk_for(workspace_id: str, conversation_id: str) -> str:
        return f"{ws_pk(workspace_id)}#CONV#{conversation_id}"

    @classmethod
    def key(cls, workspace_id: str, conversation_id: str) -> tuple[str, str]:
        return cls.pk_for(workspace_id, conversation_id), "CONVERSATION"

    @staticmethod
    def inbox_pk(workspace_id: str, status: str) -> str:
        return f"{ws_pk(workspace_id)}#INBOX#{status}"


class Attachment(MapAttribute[str, Any]):
    type = UnicodeAttribute()
    url = UnicodeAttribute(null=True)
    media_id = UnicodeAttribute(null=True)
    mime_type = UnicodeAttribute(null=True)
    title = UnicodeAttribute(null=True)
    caption = UnicodeAttribute(null=True)
    filename = UnicodeAttribute(null=True)
    sticker_id = UnicodeAttribute(null=True)
    sha256 = UnicodeAttribute(null=True)
    voice = BooleanAttribute(null=True)
    storage_key = UnicodeAttribute(null=True)  # our copy in the media bucket
    size = NumberAttribute(null=True)
    payload = MapAttribute[str, Any](null=True)


class Message(InboxItem, discriminator="Message"):
    workspace_id = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    message_id = UnicodeAttribute()
    platform_message_id = UnicodeAttribute(null=True)
    direction = UnicodeAttribute()  # inbound | outbound
    kind = UnicodeAttribute()  # text | media | postback | referral | comment | reaction | system | ...
    origin = UnicodeAttribute(null=True)  # user | app | meta_inbox | agent | flow
    sent_at = UTCDateTimeAttribute()  # the platform's timestamp
    text = UnicodeAttribute(null=True)
    attachments = ListAttribute(of=Attachment, null=True)
    data = MapAttribute[str, Any](null=True)  # kind-specific: payload, referral, location, contacts…
    reply_to = UnicodeAttribute(null=True)
    reactions = MapAttribute[str, Any](null=True)
    edits: ListAttribute[Any] = ListAttribute(null=True)
    deleted = BooleanAttribute(default=False)
    standby = BooleanAttribute(default=False)
    truncated = BooleanAttribute(null=True)  # too large as sent: stored cut to fit (meta/units.py)
    # outbound: scheduled | queued | sending | unknown | sent | delivered | read | failed | cancelled
    # (docs/ARCHITECTURE.md "Sending: every send ends in a known state")
    status = UnicodeAttribute(null=True)
    status_rank = NumberAttribute(null=True)  # statuses only move forward; failed is terminal
    status_history: ListAttribute[Any] = ListAttribute(null=True)  # [{status, at}] as Meta reported them
    error_code = UnicodeAttribute(null=True)
    error_reason = UnicodeAttribute(null=True)
    # Outbound messages composed in the product (agents, flows, broadcasts):
    sender_kind = UnicodeAttribute(null=True)  # human | automation
    sender_id = UnicodeAttribute(null=True)  # user id, or flow id
    content = MapAttribute[str, Any](null=True)  # what to send: buttons, quick replies, template…
    send_at = UTCDateTimeAttribute(null=True)  # scheduled: due time (gsi2 while waiting)
    send_attempts = NumberAttribute(null=True)
    identity_id = UnicodeAttribute(null=True)  # the recipient: read with its conversation when sent
    # A claim (status sending) is held by one worker until lease_until; post_started_at is written
    # just before the first POST, so an expired claim without it is re-sent and one with it is unknown.
    claim_id = UnicodeAttribute(null=True)
    lease_until = UTCDateTimeAttribute(null=True)
    post_started_at = UTCDateTimeAttribute(null=True)
    platform_message_ids: ListAttribute[Any] = ListAttribute(null=True)  # one per Graph call
    caused_by_flow = UnicodeAttribute(null=True)

    @staticmethod
    def sk_for(sent_at_ms: int, message_id: str) -> str:
        return f"MSG#{sent_at_ms:013d}#{message_id}"


class MessagePointer(InboxItem, discriminator="MessagePointer"):
    """Meta's message id -> our message. Written in the same transaction as the message."""

    message_id = UnicodeAttribute()
    conversation_id = UnicodeAttribute(null=True)
    message_sk = UnicodeAttribute(null=True)
    # stored | deleted (the unsend arrived before the message) | status_first (a WhatsApp status
    # arrived before our send recorded the wamid: applied when it does)
    state = UnicodeAttribute(default="stored")
    early_status = MapAttribute[str, Any](null=True)

    @staticmethod
    def key(workspace_id: str, message_id: str) -> tuple[str, str]:
        return f"{ws_pk(workspace_id)}#MID#{message_id}", "MID"


class SendRequest(InboxItem, discriminator="SendRequest"):
    """An idempotency key of a send: the same key always answers with the same message (24 h)."""

    conversation_id = UnicodeAttribute()
    message_id = UnicodeAttribute()
    message_sk = UnicodeAttribute()
    body_hash = UnicodeAttribute(null=True)  # the same key with another request is refused

    @staticmethod
    def key(workspace_id: str, idempotency_key: str) -> tuple[str, str]:
        return f"{ws_pk(workspace_id)}#SEND#{idempotency_key}", "SEND"


class PrivateReply(InboxItem, discriminator="PrivateReply"):
    """Meta allows one private reply per comment: this marker is written before it is sent."""

    comment_id = UnicodeAttribute()
    message_id = UnicodeAttribute()

    @staticmethod
    def key(workspace_id: str, comment_id: str) -> tuple[str, str]:
        return f"{ws_pk(workspace_id)}#PRIVATE_REPLY#{comment_id}", "PRIVATE_REPLY"


class Upload(InboxItem, discriminator="Upload"):
    """An agent's file, kept in the media bucket to be attached to messages."""

    upload_id = UnicodeAttribute()
    storage_key = UnicodeAttribute()
    filename = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size = NumberAttribute()
    uploaded_by = UnicodeAttribute()

    @staticmethod
    def key(workspace_id: str, upload_id: str) -> tuple[str, str]:
        return f"{ws_pk(workspace_id)}#UPLOAD#{upload_id}", "UPLOAD"
