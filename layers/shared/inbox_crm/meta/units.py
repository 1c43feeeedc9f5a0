"""The contract between the webhook (which parses Meta's payloads) and ingestion (which stores them).

A Meta delivery is split into *inbound units*: one per ``messaging[]`` / ``standby[]`` /
``changes[]`` item and per WhatsApp ``messages[]`` / ``statuses[]`` / ``errors[]`` element. Each unit
is self-contained (it carries its channel account id for routing and the customer's id), JSON
serialisable, and has a ``dedupe_key`` that is the same every time Meta redelivers the same event.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, Field

from inbox_crm.core import safe_json

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
    truncated: bool = False  # too large (or too deep) as sent: content cut to fit (fit_unit)

    @property
    def conversation_key(self) -> str:
        """Units with the same key belong to one conversation and are applied in order."""
        if self.comment is not None:
            return f"{self.platform}:{self.account_id}:post:{self.comment.post_id}:{self.customer_id}"
        return f"{self.platform}:{self.account_id}:{self.customer_id or '-'}"

    @property
    def user_originated(self) -> bool:
        return self.kind in USER_ORIGINATED and not (self.comment is not None and self.comment.from_page)


# ------------------------------------------------------------------ oversized units

# One unit's JSON. It must fit an SQS message (256 KB), an EventBridge entry (256 KB) and, with the
# message's other attributes and a history of edits (each keeps the previous text), a DynamoDB item
# (400 KB). Meta's own text limits (2,000 characters on Messenger, 4,096 on WhatsApp: 16 KB of UTF-8
# at most) are well below it: only abuse or a bug is cut.
MAX_UNIT_BYTES = 32 * 1024
# DynamoDB maps nest at most 32 levels; a unit's payloads sit one level deeper in the message item.
MAX_UNIT_DEPTH = 30
# Ids are never cut (a cut id is another id, and strings are never cut below this length): a unit
# with a longer id is recorded for operators instead. Meta's ids are under 100 characters.
MAX_ID_CHARS = 512
_IDS = (
    "account_id",
    "entry_id",
    "customer_id",
    "customer_bsuid",
    "customer_username",
    "platform_message_id",
    "dedupe_key",
    "reply_to_message_id",
    "new_customer_id",
)
_NESTED_IDS = (
    ("edit", "target_message_id"),
    ("reaction", "target_message_id"),
    ("comment", "comment_id"),
    ("comment", "post_id"),
    ("comment", "parent_id"),
)
# Payloads a unit can do without, dropped (largest first) if cutting strings was not enough.
_DROPPABLE = (
    "attachments",
    "errors",
    "interactive",
    "postback",
    "referral",
    "reply_to_story",
    "quick_reply_payload",
    "customer_name",
    "echo_metadata",
)


def fit_unit(unit: InboundUnit) -> InboundUnit:
    """The unit itself when it fits, else a copy cut to fit and marked ``truncated``: containers
    nested too deep are dropped, the longest strings are halved until it fits (never below
    MAX_ID_CHARS characters, so no id is touched), then whole payloads go, largest first. Never
    drops the unit: one whose ids are absurdly long becomes an UNUSABLE unit, recorded for operators."""
    data = unit.model_dump(mode="json", exclude_defaults=True)
    if _size(data) <= MAX_UNIT_BYTES and safe_json.depth(data) <= MAX_UNIT_DEPTH:
        return unit
    ids = [data.get(key) for key in _IDS] + [(data.get(key) or {}).get(name) for key, name in _NESTED_IDS]
    if any(isinstance(value, str) and len(value) > MAX_ID_CHARS for value in ids):
        return _unusable_oversized(unit)
    data = {**_prune(data, MAX_UNIT_DEPTH), "truncated": True}  # measured with its mark
    limit = max((len(text) for text in _strings(data)), default=0)
    while _size(data) > MAX_UNIT_BYTES and limit > MAX_ID_CHARS:
        limit = max(limit // 2, MAX_ID_CHARS)
        data = _cut(data, limit)
    for key in sorted((key for key in _DROPPABLE if key in data), key=lambda key: -_size(data[key])):
        if _size(data) <= MAX_UNIT_BYTES:
            break
        del data[key]
    return InboundUnit.model_validate(data)


def _unusable_oversized(unit: InboundUnit) -> InboundUnit:
    return InboundUnit(
        kind=UnitKind.UNUSABLE,
        platform=unit.platform,
        account_id=unit.account_id[:MAX_ID_CHARS],
        timestamp_ms=unit.timestamp_ms,
        dedupe_key=unit.dedupe_key[:MAX_ID_CHARS],
        object_type=unit.object_type,
        field=unit.field or unit.kind.value,
        reason="oversized_id",
        truncated=True,
    )


def _size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8", "surrogatepass"))


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return []


def _cut(value: Any, limit: int) -> Any:
    if isinstance(value, str):
        return value[:limit]
    if isinstance(value, dict):
        return {key: _cut(item, limit) for key, item in value.items()}
    if isinstance(value, list):
        return [_cut(item, limit) for item in value]
    return value


def _prune(value: Any, levels: int) -> Any:
    """The value with containers nested more than ``levels`` deep dropped (None)."""
    if isinstance(value, dict | list) and levels <= 0:
        return None
    if isinstance(value, dict):
        return {key: _prune(item, levels - 1) for key, item in value.items()}
    if isinstance(value, list):
        return [_prune(item, levels - 1) for item in value]
    return value
