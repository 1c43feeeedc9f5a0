"""The contract between the webhook (which parses Meta's payloads) and ingestion (which stores them).

A Meta delivery is split into *inbound units*: one per ``messaging[]`` / ``standby[]`` /
``changes[]`` item and per WhatsApp ``messages[]`` / ``statuses[]`` / ``errors[]`` element. Each unit
is self-contained (it carries its channel account id for routing and the customer's id), JSON
serialisable, and has a ``dedupe_key`` that is the same every time Meta redelivers the same event.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

Platform = Literal["messenger", "instagram", "whatsapp"]


class UnitKind(StrEnum):
    MESSAGE = "message"  # a customer's message: text, attachments, quick reply, interactive reply…
    ECHO = "echo"  # a message the business sent (our app, or a human in Meta's inbox)
    POSTBACK = "postback"  # button / Get Started / persistent menu / icebreaker tap
    REFERRAL = "referral"  # m.me link or ad re-entering an existing thread
    REACTION = "reaction"  # react / unreact to a message
    EDIT = "edit"  # the customer edited a message
    DELETE = "delete"  # Instagram unsend (is_deleted)
    DELIVERY = "delivery"  # Messenger delivery watermark
    READ = "read"  # Messenger read watermark, or Instagram seen by mid
    STATUS = "status"  # WhatsApp sent / delivered / read / failed for one of our messages
    COMMENT = "comment"  # Page feed comment: add / edited / remove
    NUMBER_CHANGE = "number_change"  # WhatsApp system user_changed_number
    ACCOUNT_ERROR = "account_error"  # WhatsApp value-level errors (app or account problems)
    UNUSABLE = "unusable"  # validly signed but not something we handle: recorded for operators


# Kinds that a customer originated: they move the 24-hour window clock.
USER_ORIGINATED = frozenset(
    {UnitKind.MESSAGE, UnitKind.POSTBACK, UnitKind.REFERRAL, UnitKind.REACTION, UnitKind.COMMENT}
)


class UnitAttachment(BaseModel):
    type: str  # image | video | audio | file | sticker | location | fallback | story_mention | ig_post |
    # share | ig_reel | reel | document | contacts | ephemeral | unsupported …
    url: str | None = None
    media_id: str | None = None  # WhatsApp media id (copied to our storage asynchronously)
    mime_type: str | None = None
    sha256: str | None = None
    title: str | None = None
    caption: str | None = None
    filename: str | None = None
    sticker_id: str | None = None
    voice: bool | None = None
    payload: dict[str, Any] | None = None  # location coordinates, contact cards, post ids, product…


class UnitReaction(BaseModel):
    target_message_id: str  # the platform id of the message reacted to
    action: Literal["react", "unreact"]
    reaction: str | None = None  # love, like…
    emoji: str | None = None


class UnitEdit(BaseModel):
    target_message_id: str
    text: str | None = None
    num_edit: int | None = None


class UnitStatus(BaseModel):
    status: Literal["sent", "delivered", "read", "played", "failed", "deleted"]
    error_code: int | None = None
    error_title: str | None = None
    error_message: str | None = None
    callback_data: str | None = None  # biz_opaque_callback_data echoed from our send
    pricing_category: str | None = None


class UnitComment(BaseModel):
    comment_id: str
    post_id: str
    parent_id: str | None = None  # == post_id for a top-level comment
    verb: Literal["add", "edited", "remove"]
    is_reply: bool = False  # parent is another comment
    from_page: bool = False  # written by the Page itself: ours, never automated
    post_permalink: str | None = None


class InboundUnit(BaseModel):
    kind: UnitKind
    platform: Platform
    # Routing: Page id (messenger + comments), IG account id, WhatsApp phone_number_id.
    account_id: str
    # Business account / WABA id from entry.id, for the record.
    entry_id: str | None = None
    # The customer: PSID, IGSID, WhatsApp wa_id (or the BSUID when no wa_id is sent). For echoes and
    # statuses it is the recipient of our message. None only for ACCOUNT_ERROR / UNUSABLE.
    customer_id: str | None = None
    customer_bsuid: str | None = None
    customer_username: str | None = None  # WhatsApp profile.username / Instagram username if sent
    customer_name: str | None = None  # WhatsApp profile.name, comment from.name
    timestamp_ms: int  # the platform's event time, in milliseconds
    platform_message_id: str | None = None  # mid, wamid, or comment id
    dedupe_key: str  # stable across Meta's redeliveries of this event

    text: str | None = None
    attachments: list[UnitAttachment] = Field(default_factory=list)
    quick_reply_payload: str | None = None
    reply_to_message_id: str | None = None  # mid / wamid (context.id) this message answers
    reply_to_story: dict[str, Any] | None = None  # Instagram story reply: {url, id}
    postback: dict[str, Any] | None = None  # {title, payload, mid}
    referral: dict[str, Any] | None = None  # {ref, source, type, ad_id, ads_context_data…}
    interactive: dict[str, Any] | None = None  # WhatsApp button / list reply, template button
    reaction: UnitReaction | None = None
    edit: UnitEdit | None = None
    watermark_ms: int | None = None  # Messenger delivery / read
    status: UnitStatus | None = None
    comment: UnitComment | None = None
    new_customer_id: str | None = None  # NUMBER_CHANGE: the new wa_id
    unsupported: bool = False  # Instagram is_unsupported, WhatsApp type unsupported
    errors: list[dict[str, Any]] = Field(default_factory=list)  # Meta's error objects, as sent
    standby: bool = False  # arrived in standby[]: stored, never automated
    echo_app_id: str | None = None  # ECHO: the app that sent it (ours, or Meta's Page inbox)
    echo_metadata: str | None = None  # ECHO: the metadata string our send passed
    forwarded: bool = False
    object_type: str | None = None  # UNUSABLE: Meta's object
    field: str | None = None  # UNUSABLE: the field / event key we did not handle
    reason: str | None = None  # UNUSABLE: why

    @property
    def conversation_key(self) -> str:
        """Units with the same key belong to one conversation and are applied in order."""
        if self.comment is not None:
            return f"{self.platform}:{self.account_id}:post:{self.comment.post_id}:{self.customer_id}"
        return f"{self.platform}:{self.account_id}:{self.customer_id or '-'}"

    @property
    def user_originated(self) -> bool:
        return self.kind in USER_ORIGINATED and not (self.comment is not None and self.comment.from_page)
