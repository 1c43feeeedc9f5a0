"""Meta webhook deliveries (Messenger, Instagram, WhatsApp Cloud API, Page feed) → inbound units.

``parse_delivery`` walks every ``entry[]``, then every ``messaging[]`` / ``standby[]`` / ``changes[]``
item and, for WhatsApp, every ``value.messages[]`` / ``value.statuses[]`` / ``value.errors[]``
element: one POST can mix Pages, phone numbers, messages and statuses, so nothing is ever read at
index 0 only. Each item becomes exactly one :class:`InboundUnit` (an entry or change that holds no
item becomes one too), and the function never raises: anything unexpected, malformed or not handled
yet becomes an ``UNUSABLE`` unit that names the object, field and reason for operators, because a
delivery refused for its shape is retried by Meta for days.

Dedupe keys are built from Meta's ids and values, never from the body's layout, so they are the same
for every redelivery whatever its key order or whitespace. Readable keys (``mid:<platform>:<account>:
<mid>``, ``wa:<phone_number_id>:<wamid>``…) are used while they are short and plain ASCII; longer
ones, and keys over composite values, are a SHA-256 prefix behind a readable kind prefix.

Text is copied exactly as sent (no Unicode normalisation); Meta's own dicts (referrals, contact
cards, error objects…) are copied as sent too. The one repair: a lone surrogate (an unpaired
``\\ud83d`` escape, which json.loads accepts) becomes U+FFFD, so every unit encodes to UTF-8.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Literal, cast

from inbox_crm.core.observability import logger
from inbox_crm.core.safe_json import LONE_SURROGATE
from inbox_crm.meta.units import (
    InboundUnit,
    Platform,
    UnitAttachment,
    UnitComment,
    UnitEdit,
    UnitKind,
    UnitReaction,
    UnitStatus,
)

__all__ = ["MAX_READABLE_KEY_LENGTH", "UNKNOWN_TIME_MS", "message_dedupe_key", "parse_delivery"]

_ReactionAction = Literal["react", "unreact"]
_CommentVerb = Literal["add", "edited", "remove"]
_StatusName = Literal["sent", "delivered", "read", "played", "failed", "deleted"]

# timestamp_ms of a unit Meta gave no time for (and whose entry has none): never the parse time.
UNKNOWN_TIME_MS = 0
# Readable dedupe keys longer than this are hashed (it is also SQS's deduplication-id limit).
MAX_READABLE_KEY_LENGTH = 128
_HASH_HEX_CHARS = 40  # 160 bits of SHA-256
# Event times outside [2001, 2286) are not believed; the entry time or the receive time is used.
_MIN_EPOCH_MS = 10**12
_MAX_EPOCH_MS = 10**13
_SECONDS_BELOW = 10**11  # a fallback epoch below this is in seconds, not milliseconds

_STATUSES = frozenset({"sent", "delivered", "read", "played", "failed", "deleted"})
_COMMENT_VERBS = frozenset({"add", "edited", "remove"})
_MESSAGING_ARRAYS = (("messaging", False), ("standby", True))
_LONE_SURROGATE = LONE_SURROGATE


class _Unusable(Exception):
    """Raised by a parser when an item cannot become a unit; the walker records it as UNUSABLE."""

    def __init__(self, reason: str, field: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.field = field


@dataclass(frozen=True, slots=True)
class _Source:
    """Where an item came from: enough to route it, and to describe it when it is unusable."""

    platform: Platform
    object_type: str
    account_id: str
    entry_id: str | None
    fallback_ms: int  # entry.time when Meta sent one, else UNKNOWN_TIME_MS
    field: str | None = None
    standby: bool = False


# ================================================================== entry point


def parse_delivery(body: Any, *, our_app_id: str | None) -> list[InboundUnit]:
    """Split a signed, JSON-decoded Meta delivery into inbound units (at least one, never raises).

    A pure function of ``body``: a redelivery gives equal units, not just equal dedupe keys. Where Meta
    sends no event time at all (WhatsApp ``value.errors[]``, broken items) ``timestamp_ms`` is
    ``UNKNOWN_TIME_MS`` (0), never the time of parsing.

    ``our_app_id`` is our Meta app id. Echoes keep the sending app in ``echo_app_id`` whichever app it
    is, and ingestion compares it with its own setting; it is accepted here so the webhook states which
    app it serves (and for the day a field needs it), but does not change the units today.
    """
    del our_app_id  # see the docstring: echoes are attributed by ingestion, from echo_app_id
    try:
        return _parse_delivery(body)
    except Exception as error:  # the last resort: a delivery is never refused for its shape
        logger.exception("meta delivery parser failed", extra={"error": type(error).__name__})
        return [_unusable(_delivery_source(body), body, f"parse_error:{type(error).__name__}")]


def unreadable_delivery(raw: bytes, reason: str) -> InboundUnit:
    """The UNUSABLE unit of a validly signed body that is not readable JSON (not UTF-8, malformed,
    nested too deep): recorded for operators, and the same for every redelivery of those bytes."""
    return _unusable(_delivery_source(None), hashlib.sha256(raw).hexdigest(), f"unreadable:{reason}")


def message_dedupe_key(platform: Platform, account_id: str, message_id: str) -> str:
    """The dedupe key of a Messenger / Instagram message (or echo) with this ``mid``.

    Exposed so the send path can record the key of a message it sent: its echo then dedupes against it.
    """
    return _readable_key("mid", platform, account_id, message_id)


def _parse_delivery(body: Any) -> list[InboundUnit]:
    source = _delivery_source(body)
    if not isinstance(body, dict) or not isinstance(body.get("entry"), list):
        return [_unusable(source, body, "not_a_meta_delivery")]
    spec = _OBJECTS.get(source.object_type)
    units: list[InboundUnit] = []
    for entry in body["entry"]:
        if spec is None:
            units.append(_unusable(_entry_source(source, entry), entry, "unhandled_object"))
            continue
        units.extend(_guarded_many(_entry_source(source, entry), entry, partial(spec.parse, source, entry)))
    if not units:
        units.append(_unusable(source, body, "empty_delivery"))
    return units


def _delivery_source(body: Any) -> _Source:
    object_type = _text(body.get("object")) if isinstance(body, dict) else None
    object_type = object_type or ""
    return _Source(
        platform=_platform_for_object(object_type),
        object_type=object_type,
        account_id="",
        entry_id=None,
        fallback_ms=UNKNOWN_TIME_MS,
    )


def _platform_for_object(object_type: str) -> Platform:
    # UNUSABLE units of unknown objects still need a platform: Messenger's is the Page-level default.
    spec = _OBJECTS.get(object_type)
    return spec.platform if spec is not None else "messenger"


def _entry_source(source: _Source, entry: Any) -> _Source:
    if not isinstance(entry, dict):
        return source
    entry_id = _id(entry.get("id"))
    fallback_ms = _epoch_ms_guess(entry.get("time"))
    return replace(
        source,
        account_id=entry_id or "",
        entry_id=entry_id,
        fallback_ms=fallback_ms if fallback_ms is not None else UNKNOWN_TIME_MS,
    )


# ================================================================== guards and UNUSABLE units


def _guarded(source: _Source, item: Any, parse: Callable[[], InboundUnit]) -> InboundUnit:
    """One item → one unit: a parser's refusal or crash becomes an UNUSABLE unit for that item."""
    return _guarded_many(source, item, lambda: [parse()])[0]


def _guarded_many(source: _Source, item: Any, parse: Callable[[], list[InboundUnit]]) -> list[InboundUnit]:
    try:
        return parse()
    except _Unusable as problem:
        return [_unusable(source, item, problem.reason, field=problem.field)]
    except Exception as error:  # a bug or a shape nobody imagined: record it, never refuse the delivery
        logger.warning(
            "meta webhook item could not be parsed",
            extra={"error": type(error).__name__, "object": source.object_type, "field": source.field},
        )
        return [_unusable(source, item, f"parse_error:{type(error).__name__}")]


def _unusable(source: _Source, item: Any, reason: str, *, field: str | None = None) -> InboundUnit:
    field = field or source.field
    return InboundUnit(
        kind=UnitKind.UNUSABLE,
        platform=source.platform,
        account_id=source.account_id,
        entry_id=source.entry_id,
        customer_id=_customer_hint(item),
        timestamp_ms=_item_time_guess(item, source),
        dedupe_key=_digest_key(
            "unusable", source.platform, source.account_id, source.object_type, field, reason, item
        ),
        standby=source.standby,
        object_type=source.object_type,
        field=field,
        reason=reason,
    )


def _customer_hint(item: Any) -> str | None:
    """The customer an unusable item is about, when it plainly says (keeps it in that FIFO group)."""
    if not isinstance(item, dict):
        return None
    return _party_id(item.get("sender")) or _wa_user_id(item.get("from"), item.get("from_user_id"))


def _item_time_guess(item: Any, source: _Source) -> int:
    if isinstance(item, dict):
        for key in ("timestamp", "created_time", "time"):
            guessed = _epoch_ms_guess(item.get(key))
            if guessed is not None:
                return guessed
    return source.fallback_ms


# ================================================================== objects and entries

_ChangeParser = Callable[[_Source, Any], list[InboundUnit]]


@dataclass(frozen=True, slots=True)
class _ObjectSpec:
    """How one Meta ``object`` is read: which entry arrays it uses and which ``changes`` fields."""

    platform: Platform
    has_messaging: bool
    change_parsers: Mapping[str, _ChangeParser]

    def parse(self, delivery: _Source, entry: Any) -> list[InboundUnit]:
        source = _entry_source(delivery, entry)
        if not isinstance(entry, dict):
            raise _Unusable("malformed:entry")
        if not source.account_id:
            raise _Unusable("malformed:entry_id")
        units = [*self._messaging(source, entry), *self._changes(source, entry)]
        return units or [_unusable(source, entry, "empty_entry")]

    def _messaging(self, source: _Source, entry: dict[str, Any]) -> list[InboundUnit]:
        units: list[InboundUnit] = []
        for array_key, standby in _MESSAGING_ARRAYS:
            if array_key not in entry:
                continue
            array_source = replace(source, field=array_key, standby=standby)
            events = entry[array_key]
            if not isinstance(events, list):
                units.append(_unusable(array_source, events, "malformed:not_a_list"))
                continue
            for event in events:
                if self.has_messaging:
                    units.append(
                        _guarded(array_source, event, partial(_parse_messaging_event, array_source, event))
                    )
                else:
                    units.append(_unusable(array_source, event, "unhandled_event", field=_event_key(event)))
        return units

    def _changes(self, source: _Source, entry: dict[str, Any]) -> list[InboundUnit]:
        if "changes" not in entry:
            return []
        changes = entry["changes"]
        if not isinstance(changes, list):
            return [_unusable(replace(source, field="changes"), changes, "malformed:not_a_list")]
        units: list[InboundUnit] = []
        for change in changes:
            field = _text(change.get("field")) if isinstance(change, dict) else None
            change_source = replace(source, field=field or "changes")
            value = change.get("value") if isinstance(change, dict) else None
            parser = self.change_parsers.get(field or "")
            if parser is None:
                units.append(_unusable(_with_phone_number(change_source, value), change, "unhandled_field"))
                continue
            units.extend(_guarded_many(change_source, change, partial(parser, change_source, value)))
        return units


def _with_phone_number(source: _Source, value: Any) -> _Source:
    """WhatsApp units route on metadata.phone_number_id: use it for unusable ones too when it is known."""
    if source.platform != "whatsapp" or not isinstance(value, dict):
        return source
    metadata = value.get("metadata")
    phone_number_id = _id(metadata.get("phone_number_id")) if isinstance(metadata, dict) else None
    return replace(source, account_id=phone_number_id) if phone_number_id else source


# ================================================================== Messenger / Instagram messaging

_EventParser = Callable[[_Source, dict[str, Any], Any], InboundUnit]


def _parse_messaging_event(source: _Source, event: Any) -> InboundUnit:
    if not isinstance(event, dict):
        raise _Unusable("malformed:event")
    key = next((name for name in _MESSAGING_EVENTS if name in event), None)
    if key is None:
        raise _Unusable("unhandled_event", field=_event_key(event))
    try:
        return _MESSAGING_EVENTS[key](replace(source, field=key), event, event[key])
    except _Unusable as problem:
        problem.field = problem.field or key
        raise


def _event_key(event: Any) -> str | None:
    """The key naming a messaging event (``optin``, ``pass_thread_control``…), for unusable records."""
    if not isinstance(event, dict):
        return None
    field = _text(event.get("field"))  # group_feed items arrive in messaging[] with a field
    if field:
        return field
    key = next((key for key in event if key not in ("sender", "recipient", "timestamp")), None)
    return _valid_text(str(key)) if key is not None else None


def _messaging_unit(
    source: _Source, event: dict[str, Any], kind: UnitKind, *, customer_from: str = "sender", **fields: Any
) -> InboundUnit:
    customer_id = _party_id(event.get(customer_from))
    if customer_id is None:
        raise _Unusable(f"malformed:missing_{customer_from}")
    return InboundUnit(
        kind=kind,
        platform=source.platform,
        account_id=source.account_id,
        entry_id=source.entry_id,
        customer_id=customer_id,
        timestamp_ms=_event_ms(event.get("timestamp"), source),
        standby=source.standby,
        **fields,
    )


def _message_event(source: _Source, event: dict[str, Any], message: Any) -> InboundUnit:
    message = _require_dict(message, "malformed:message")
    mid = _require_id(message.get("mid"), "malformed:missing_mid")
    if _flag(message.get("is_deleted")):  # Instagram unsend
        return _messaging_unit(
            source,
            event,
            UnitKind.DELETE,
            platform_message_id=mid,
            dedupe_key=_readable_key("delete", source.platform, source.account_id, mid),
        )
    content = _message_content(message)
    if _flag(message.get("is_echo")):  # the business sent it: the customer is the recipient
        return _messaging_unit(
            source,
            event,
            UnitKind.ECHO,
            customer_from="recipient",
            platform_message_id=mid,
            dedupe_key=message_dedupe_key(source.platform, source.account_id, mid),
            echo_app_id=_id(message.get("app_id")),  # numeric in Meta's payloads; absent on Instagram
            echo_metadata=_text(message.get("metadata")),
            **content,
        )
    return _messaging_unit(
        source,
        event,
        UnitKind.MESSAGE,
        platform_message_id=mid,
        dedupe_key=message_dedupe_key(source.platform, source.account_id, mid),
        **content,
    )


def _message_content(message: dict[str, Any]) -> dict[str, Any]:
    """The parts of a Messenger / Instagram ``message`` shared by customer messages and echoes."""
    reply_to = _dict(message.get("reply_to"))
    quick_reply = _dict(message.get("quick_reply"))
    attachments = [_messaging_attachment(raw) for raw in _list(message.get("attachments"))]
    story = reply_to.get("story")
    return {
        "text": _text(message.get("text")),
        "attachments": _collapse_sticker_pairs([a for a in attachments if a is not None]),
        "quick_reply_payload": _text(quick_reply.get("payload")),
        "reply_to_message_id": _id(reply_to.get("mid")),
        "reply_to_story": _copy_dict(story),
        "referral": _copy_dict(message.get("referral")),
        "unsupported": _flag(message.get("is_unsupported")),
    }


def _messaging_attachment(raw: Any) -> UnitAttachment | None:
    if not isinstance(raw, dict):
        return None
    kind = _text(raw.get("type")) or "unknown"
    payload = _dict(raw.get("payload"))  # fallback and ephemeral attachments may carry none
    # Old fallback attachments put title / URL beside the payload instead of inside it.
    url = _text(payload.get("url")) or _text(raw.get("url")) or _text(raw.get("URL"))
    title = _text(payload.get("title")) or _text(raw.get("title"))
    rest = {
        key: _json_copy(value) for key, value in payload.items() if key not in ("url", "title", "sticker_id")
    }
    if kind == "location":
        rest = _messenger_location(rest)
    return UnitAttachment(
        type=kind, url=url, title=title, sticker_id=_id(payload.get("sticker_id")), payload=rest or None
    )


def _messenger_location(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload.coordinates{lat, long}`` → ``{latitude, longitude}``, the keys WhatsApp locations use."""
    coordinates = _dict(payload.get("coordinates"))
    location = {key: value for key, value in payload.items() if key != "coordinates"}
    for source_key, target_key in (("lat", "latitude"), ("long", "longitude")):
        if source_key in coordinates:
            location[target_key] = coordinates[source_key]
    return location


def _collapse_sticker_pairs(attachments: list[UnitAttachment]) -> list[UnitAttachment]:
    """Keep one ``sticker`` attachment per sticker_id.

    Until 30 Aug 2026 Messenger sends a sticker twice, as an ``image`` carrying ``sticker_id`` and as a
    ``sticker`` attachment; earlier it sent only the image. Either way the message holds one sticker:
    the ``sticker`` attachment wins, gaps in it (a missing url) are filled from the image copy, and a
    lone image with a sticker_id is typed ``sticker``.
    """
    kept: list[UnitAttachment] = []
    position: dict[str, int] = {}
    from_sticker_type: set[str] = set()
    for attachment in attachments:
        sticker_id = attachment.sticker_id
        if sticker_id is None or attachment.type not in ("image", "sticker"):
            kept.append(attachment)
            continue
        as_sticker = attachment.model_copy(update={"type": "sticker"})
        if sticker_id not in position:
            position[sticker_id] = len(kept)
            kept.append(as_sticker)
        elif attachment.type == "sticker" and sticker_id not in from_sticker_type:
            kept[position[sticker_id]] = _fill_gaps(as_sticker, kept[position[sticker_id]])
        else:
            kept[position[sticker_id]] = _fill_gaps(kept[position[sticker_id]], as_sticker)
        if attachment.type == "sticker":
            from_sticker_type.add(sticker_id)
    return kept


def _fill_gaps(primary: UnitAttachment, secondary: UnitAttachment) -> UnitAttachment:
    missing = {
        name: getattr(secondary, name)
        for name in UnitAttachment.model_fields
        if getattr(primary, name) is None and getattr(secondary, name) is not None
    }
    return primary.model_copy(update=missing) if missing else primary


def _reaction_event(source: _Source, event: dict[str, Any], reaction: Any) -> InboundUnit:
    reaction = _require_dict(reaction, "malformed:reaction")
    target = _require_id(reaction.get("mid"), "malformed:missing_mid")
    emoji = _text(reaction.get("emoji"))
    name = _text(reaction.get("reaction"))
    sent_action = _text(reaction.get("action"))
    action: _ReactionAction = "unreact" if sent_action == "unreact" else "react"
    if sent_action not in ("react", "unreact") and not (emoji or name):
        action = "unreact"
    # A reaction has no id of its own: the key is the event's identity.
    sender = _party_id(event.get("sender"))
    dedupe_key = _digest_key(
        "reaction",
        source.platform,
        source.account_id,
        target,
        sender,
        action,
        event.get("timestamp"),
        emoji,
        name,
    )
    return _messaging_unit(
        source,
        event,
        UnitKind.REACTION,
        dedupe_key=dedupe_key,
        reaction=UnitReaction(target_message_id=target, action=action, reaction=name, emoji=emoji),
    )


def _edit_event(source: _Source, event: dict[str, Any], edit: Any) -> InboundUnit:
    edit = _require_dict(edit, "malformed:message_edit")
    mid = _require_id(edit.get("mid"), "malformed:missing_mid")
    num_edit = _int(edit.get("num_edit"))
    # Clients allow 5 edits and number them; without a number, the event time tells edits apart.
    edit_number = str(num_edit) if num_edit is not None else f"t{_int(event.get('timestamp'))}"
    return _messaging_unit(
        source,
        event,
        UnitKind.EDIT,
        platform_message_id=mid,
        dedupe_key=_readable_key("edit", source.platform, source.account_id, mid, edit_number),
        edit=UnitEdit(target_message_id=mid, text=_text(edit.get("text")), num_edit=num_edit),
    )


def _delivery_event(source: _Source, event: dict[str, Any], delivery: Any) -> InboundUnit:
    delivery = _require_dict(delivery, "malformed:delivery")
    watermark = _plausible_ms(_int(delivery.get("watermark")))
    if watermark is None:
        raise _Unusable("malformed:missing_watermark")
    return _watermark_unit(source, event, UnitKind.DELIVERY, watermark=watermark, mid=None)


def _read_event(source: _Source, event: dict[str, Any], read: Any) -> InboundUnit:
    """Messenger ``read{watermark}``; Instagram ``read{mid}`` (seen) names the message instead."""
    read = _require_dict(read, "malformed:read")
    watermark = _plausible_ms(_int(read.get("watermark")))
    mid = _id(read.get("mid"))
    if watermark is None and mid is None:
        raise _Unusable("malformed:missing_watermark")
    return _watermark_unit(source, event, UnitKind.READ, watermark=watermark, mid=mid)


def _watermark_unit(
    source: _Source, event: dict[str, Any], kind: UnitKind, *, watermark: int | None, mid: str | None
) -> InboundUnit:
    customer = _party_id(event.get("sender"))
    mark = str(watermark) if watermark is not None else str(mid)
    return _messaging_unit(
        source,
        event,
        kind,
        watermark_ms=watermark,
        platform_message_id=None if watermark is not None else mid,
        dedupe_key=_readable_key(kind.value, source.platform, source.account_id, customer or "-", mark),
    )


def _postback_event(source: _Source, event: dict[str, Any], postback: Any) -> InboundUnit:
    postback = _require_dict(postback, "malformed:postback")
    mid = _id(postback.get("mid"))  # sent since v11; a standby copy carries no payload
    title = _text(postback.get("title"))
    payload = _text(postback.get("payload"))
    dedupe_key = (
        _readable_key("postback", source.platform, source.account_id, mid)
        if mid
        else _digest_key(
            "postback",
            source.platform,
            source.account_id,
            _party_id(event.get("sender")),
            event.get("timestamp"),
            title,
            payload,
        )
    )
    return _messaging_unit(
        source,
        event,
        UnitKind.POSTBACK,
        platform_message_id=mid,
        dedupe_key=dedupe_key,
        postback={"title": title, "payload": payload, "mid": mid},
        referral=_copy_dict(postback.get("referral")),
    )


def _referral_event(source: _Source, event: dict[str, Any], referral: Any) -> InboundUnit:
    referral = _require_dict(referral, "malformed:referral")
    dedupe_key = _digest_key(
        "referral",
        source.platform,
        source.account_id,
        _party_id(event.get("sender")),
        event.get("timestamp"),
        referral,
    )
    return _messaging_unit(
        source, event, UnitKind.REFERRAL, dedupe_key=dedupe_key, referral=_copy_dict(referral)
    )


# Checked in this order: the first key present names the event. Anything else (handover,
# optin, account_linking, policy_enforcement, app_roles, game_play…) is UNUSABLE "unhandled_event".
_MESSAGING_EVENTS: dict[str, _EventParser] = {
    "message": _message_event,
    "message_edit": _edit_event,
    "reaction": _reaction_event,
    "delivery": _delivery_event,
    "read": _read_event,
    "postback": _postback_event,
    "referral": _referral_event,
}


# ================================================================== Page feed comments


def _feed_change(source: _Source, value: Any) -> list[InboundUnit]:
    value = _require_dict(value, "malformed:value")
    item = _text(value.get("item"))
    if item != "comment":
        # Reactions, posts, statuses, likes, shares… on the Page: acknowledged and ignored.
        raise _Unusable("ignored_feed_item")
    verb = _text(value.get("verb"))
    if verb not in _COMMENT_VERBS:
        raise _Unusable("unhandled_verb")
    comment_id = _require_id(value.get("comment_id"), "malformed:missing_comment_id")
    post_id = _require_id(value.get("post_id"), "malformed:missing_post_id")
    parent_id = _id(value.get("parent_id"))
    author = _dict(value.get("from"))
    author_id = _id(author.get("id"))  # may be missing (always on some removes)
    created = _epoch_seconds_to_ms(value.get("created_time"))
    comment = UnitComment(
        comment_id=comment_id,
        post_id=post_id,
        parent_id=parent_id,
        verb=cast(_CommentVerb, verb),
        is_reply=parent_id is not None and parent_id != post_id,
        from_page=author_id is not None and author_id == source.account_id,
        post_permalink=_text(_dict(value.get("post")).get("permalink_url")),
    )
    unit = InboundUnit(
        kind=UnitKind.COMMENT,
        platform=source.platform,
        account_id=source.account_id,
        entry_id=source.entry_id,
        customer_id=author_id,
        customer_name=_text(author.get("name")),
        timestamp_ms=created if created is not None else source.fallback_ms,
        platform_message_id=comment_id,
        dedupe_key=_comment_dedupe_key(source.account_id, comment_id, verb, value),
        text=_text(value.get("message")),
        attachments=_comment_media(value),
        comment=comment,
    )
    return [unit]


def _comment_dedupe_key(page_id: str, comment_id: str, verb: str, value: dict[str, Any]) -> str:
    """(comment_id, verb, created_time); an edit also keys on its text, in case Meta keeps the creation
    time on every ``edited`` event of a comment (two different edits must not look like one)."""
    created = _int(value.get("created_time"))
    parts = [page_id, comment_id, verb, str(created) if created is not None else "-"]
    if verb == "edited":
        parts.append(_sha256(_canonical_json(value.get("message")))[:16])
    return _readable_key("comment", *parts)


def _comment_media(value: dict[str, Any]) -> list[UnitAttachment]:
    attachments = []
    for key, kind in (("photo", "image"), ("video", "video")):
        media = value.get(key)
        url = _text(media) or _text(_dict(media).get("url")) or _text(_dict(media).get("src"))
        if url:
            attachments.append(UnitAttachment(type=kind, url=url))
    return attachments


# ================================================================== Instagram changes


def _instagram_dashboard_test(source: _Source, value: Any) -> list[InboundUnit]:
    # The App Dashboard "Test" button posts a messages sample as a change instead of in messaging[].
    raise _Unusable("dashboard_test")


# ================================================================== WhatsApp Cloud API


@dataclass(frozen=True, slots=True)
class _WaValue:
    """One ``changes[].value`` of field ``messages``: the phone number and its ``contacts`` profiles."""

    source: _Source  # account_id = metadata.phone_number_id
    contacts: list[dict[str, Any]]
    message_count: int

    def profile_for(self, wa_id: str | None, user_id: str | None) -> dict[str, Any]:
        for contact in self.contacts:
            contact_wa_id = _wa_user_id(contact.get("wa_id"), None)
            if (wa_id and contact_wa_id == wa_id) or (user_id and _id(contact.get("user_id")) == user_id):
                return _dict(contact.get("profile"))
        # One unlabelled contact for one message can only be that message's sender.
        if len(self.contacts) == 1 and self.message_count == 1:
            only = self.contacts[0]
            if "wa_id" not in only and "user_id" not in only:
                return _dict(only.get("profile"))
        return {}


def _whatsapp_messages_change(source: _Source, value: Any) -> list[InboundUnit]:
    value = _require_dict(value, "malformed:value")
    phone_number_id = _id(_dict(value.get("metadata")).get("phone_number_id"))
    if phone_number_id is None:
        raise _Unusable("malformed:missing_phone_number_id")
    messages = value.get("messages")
    wa_value = _WaValue(
        source=replace(source, account_id=phone_number_id),
        contacts=[contact for contact in _list(value.get("contacts")) if isinstance(contact, dict)],
        message_count=len(messages) if isinstance(messages, list) else 0,
    )
    units: list[InboundUnit] = []
    for array_key, parse in _WA_ARRAYS.items():
        if array_key not in value:
            continue
        element_source = replace(wa_value.source, field=array_key)
        elements = value[array_key]
        if not isinstance(elements, list):
            units.append(_unusable(element_source, elements, "malformed:not_a_list"))
            continue
        for element in elements:
            units.append(_guarded(element_source, element, partial(parse, wa_value, element_source, element)))
    return units or [_unusable(wa_value.source, value, "empty_value")]


def _wa_message(wa_value: _WaValue, source: _Source, message: Any) -> InboundUnit:
    message = _require_dict(message, "malformed:message")
    wamid = _require_id(message.get("id"), "malformed:missing_id")
    wa_id = _wa_user_id(message.get("from"), None)
    bsuid = _id(message.get("from_user_id"))
    customer_id = wa_id or bsuid  # users with a username may arrive with a BSUID only
    if customer_id is None:
        raise _Unusable("malformed:missing_from")
    profile = wa_value.profile_for(wa_id, bsuid)
    context = _dict(message.get("context"))
    message_type = _text(message.get("type")) or ""
    build = _WA_MESSAGE_TYPES.get(message_type, _wa_unknown_type)
    fields: dict[str, Any] = {
        "kind": UnitKind.MESSAGE,
        "platform": "whatsapp",
        "account_id": source.account_id,
        "entry_id": source.entry_id,
        "customer_id": customer_id,
        "customer_bsuid": bsuid,
        "customer_name": _text(profile.get("name")),
        "customer_username": _text(profile.get("username")),
        "timestamp_ms": _epoch_seconds_to_ms(message.get("timestamp")) or source.fallback_ms,
        "platform_message_id": wamid,
        "dedupe_key": _readable_key("wa", source.account_id, wamid),
        "reply_to_message_id": _id(context.get("id")),
        "forwarded": _flag(context.get("forwarded")) or _flag(context.get("frequently_forwarded")),
        "referral": _wa_referral(message, context),
        "errors": _error_list(message.get("errors")),
        **build(message, message_type),
    }
    return InboundUnit(**fields)


def _wa_referral(message: dict[str, Any], context: dict[str, Any]) -> dict[str, Any] | None:
    """Click-to-WhatsApp ``referral`` as sent; a product enquiry's ``context.referred_product`` joins it."""
    referral = _copy_dict(message.get("referral"))
    product = _copy_dict(context.get("referred_product"))
    if product is not None:
        referral = {**(referral or {}), "referred_product": product}
    return referral


def _wa_text(message: dict[str, Any], _: str) -> dict[str, Any]:
    return {"text": _text(_dict(message.get("text")).get("body"))}


def _wa_media(message: dict[str, Any], media_type: str) -> dict[str, Any]:
    """image / video / sticker / document / audio: a media id to fetch (the url is still rolling out)."""
    media = _dict(message.get(media_type))
    animated = media.get("animated")
    voice = media.get("voice")
    attachment = UnitAttachment(
        type=media_type,
        url=_text(media.get("url")),
        media_id=_id(media.get("id")),
        mime_type=_text(media.get("mime_type")),
        sha256=_text(media.get("sha256")),
        caption=_text(media.get("caption")),
        filename=_text(media.get("filename")),
        voice=voice if isinstance(voice, bool) else None,
        payload={"animated": animated} if isinstance(animated, bool) else None,
    )
    return {"attachments": [attachment]}


def _wa_location(message: dict[str, Any], _: str) -> dict[str, Any]:
    location = _dict(message.get("location"))
    payload: dict[str, Any] = {
        key: _json_copy(location[key])
        for key in ("latitude", "longitude", "name", "address", "url")
        if key in location
    }
    return {"attachments": [UnitAttachment(type="location", payload=payload or None)]}


def _wa_contact_cards(message: dict[str, Any], _: str) -> dict[str, Any]:
    # Contact cards the customer shared, not a CRM contact (and not value.contacts).
    cards = [_json_copy(card) for card in _list(message.get("contacts")) if isinstance(card, dict)]
    return {"attachments": [UnitAttachment(type="contacts", payload={"contacts": cards})]}


def _wa_interactive(message: dict[str, Any], _: str) -> dict[str, Any]:
    interactive = _dict(message.get("interactive"))
    reply_type = _text(interactive.get("type")) or "unknown"
    reply = _dict(interactive.get(reply_type))
    if reply_type in ("button_reply", "list_reply"):
        title = _text(reply.get("title"))
        details = {
            "type": reply_type,
            "id": _id(reply.get("id")),
            "title": title,
            "description": _text(reply.get("description")),
        }
        return {"interactive": _without_none(details), "text": title}
    # nfm_reply (Flows) and newer replies: kept as sent; their body, if any, is the text.
    return {"interactive": {**_json_copy(reply), "type": reply_type}, "text": _text(reply.get("body"))}


def _wa_template_button(message: dict[str, Any], _: str) -> dict[str, Any]:
    button = _dict(message.get("button"))
    text = _text(button.get("text"))
    details = {"type": "button", "payload": _text(button.get("payload")), "text": text}
    return {"interactive": _without_none(details), "text": text}


def _wa_reaction(message: dict[str, Any], _: str) -> dict[str, Any]:
    reaction = _dict(message.get("reaction"))
    target = _require_id(reaction.get("message_id"), "malformed:missing_reaction_message_id")
    emoji = _text(reaction.get("emoji"))  # omitted (or "") when the reaction is removed
    return {
        "kind": UnitKind.REACTION,
        "reaction": UnitReaction(
            target_message_id=target, action="react" if emoji else "unreact", emoji=emoji or None
        ),
    }


def _wa_order(message: dict[str, Any], _: str) -> dict[str, Any]:
    order = _dict(message.get("order"))
    return {
        "text": _text(order.get("text")),
        "attachments": [UnitAttachment(type="order", payload=_copy_dict(order) or None)],
    }


def _wa_system(message: dict[str, Any], _: str) -> dict[str, Any]:
    """The customer's WhatsApp identity changed: ``customer_id`` is the old one, ``new_customer_id`` the new.

    ``user_changed_number`` (``customer_changed_number`` before v12, with ``new_wa_id``) carries the new
    wa_id. ``user_changed_user_id`` carries a new BSUID: it is put in ``new_customer_id`` too, so for
    that type the new id is a BSUID (``CC.…``, never all digits) rather than a phone number.
    """
    system = _dict(message.get("system"))
    system_type = _text(system.get("type"))
    if system_type in ("user_changed_number", "customer_changed_number"):
        new_id = _wa_user_id(system.get("wa_id") or system.get("new_wa_id"), None)
    elif system_type == "user_changed_user_id":
        new_id = _id(system.get("user_id"))
    else:
        raise _Unusable("unhandled_system_type")
    if new_id is None:
        raise _Unusable("malformed:missing_new_id")
    return {"kind": UnitKind.NUMBER_CHANGE, "new_customer_id": new_id, "text": _text(system.get("body"))}


def _wa_unsupported(message: dict[str, Any], _: str) -> dict[str, Any]:
    # errors[] (131051 "Message type unknown", 131060…) are copied by the caller.
    details = _copy_dict(message.get("unsupported"))
    return {"unsupported": True, "attachments": [UnitAttachment(type="unsupported", payload=details)]}


def _wa_unknown_type(message: dict[str, Any], message_type: str) -> dict[str, Any]:
    # A type this parser does not know yet (edit / revoke on coexistence numbers, future types).
    payload = {"type": message_type or None}
    return {"unsupported": True, "attachments": [UnitAttachment(type="unsupported", payload=payload)]}


_WA_MESSAGE_TYPES: dict[str, Callable[[dict[str, Any], str], dict[str, Any]]] = {
    "text": _wa_text,
    "image": _wa_media,
    "video": _wa_media,
    "sticker": _wa_media,
    "document": _wa_media,
    "audio": _wa_media,
    "location": _wa_location,
    "contacts": _wa_contact_cards,
    "interactive": _wa_interactive,
    "button": _wa_template_button,
    "reaction": _wa_reaction,
    "order": _wa_order,
    "system": _wa_system,
    "unsupported": _wa_unsupported,
}


def _wa_status(wa_value: _WaValue, source: _Source, status: Any) -> InboundUnit:
    status = _require_dict(status, "malformed:status")
    wamid = _require_id(status.get("id"), "malformed:missing_id")
    state = _text(status.get("status"))
    if state not in _STATUSES:
        raise _Unusable("unhandled_status")
    errors = _error_list(status.get("errors"))
    first_error = errors[0] if errors else {}
    bsuid = _id(status.get("recipient_user_id"))
    return InboundUnit(
        kind=UnitKind.STATUS,
        platform="whatsapp",
        account_id=source.account_id,
        entry_id=source.entry_id,
        # None only for recipients that are neither (groups): ingestion records those for operators.
        customer_id=_wa_user_id(status.get("recipient_id"), None) or bsuid,
        customer_bsuid=bsuid,
        timestamp_ms=_epoch_seconds_to_ms(status.get("timestamp")) or source.fallback_ms,
        platform_message_id=wamid,
        dedupe_key=_readable_key("wa", source.account_id, wamid, state),
        status=UnitStatus(
            status=cast(_StatusName, state),
            error_code=_int(first_error.get("code")),
            error_title=_text(first_error.get("title")),
            error_message=_text(first_error.get("message"))
            or _text(_dict(first_error.get("error_data")).get("details")),
            callback_data=_text(status.get("biz_opaque_callback_data")),
            pricing_category=_text(_dict(status.get("pricing")).get("category")),
        ),
        errors=errors,
    )


def _wa_account_error(wa_value: _WaValue, source: _Source, error: Any) -> InboundUnit:
    """``value.errors[]``: an app or account problem (130429 rate limit…), not tied to a message.

    Meta sends no id or time for these, so a recurrence identical to an earlier error shares its key.
    """
    error = _require_dict(error, "malformed:error")
    return InboundUnit(
        kind=UnitKind.ACCOUNT_ERROR,
        platform="whatsapp",
        account_id=source.account_id,
        entry_id=source.entry_id,
        timestamp_ms=source.fallback_ms,  # Meta sends no time for these
        dedupe_key=_digest_key("wa-error", source.account_id, error),
        errors=[_json_copy(error)],
    )


_WA_ARRAYS: dict[str, Callable[[_WaValue, _Source, Any], InboundUnit]] = {
    "messages": _wa_message,
    "statuses": _wa_status,
    "errors": _wa_account_error,
}


# ================================================================== objects table

_OBJECTS: dict[str, _ObjectSpec] = {
    "page": _ObjectSpec(
        platform="messenger",
        has_messaging=True,
        change_parsers={"feed": _feed_change},
    ),
    "instagram": _ObjectSpec(
        platform="instagram",
        has_messaging=True,
        # IG media comments (comments / live_comments) arrive here too; they are not handled yet.
        change_parsers={"messages": _instagram_dashboard_test},
    ),
    "whatsapp_business_account": _ObjectSpec(
        platform="whatsapp",
        has_messaging=False,
        change_parsers={"messages": _whatsapp_messages_change},
    ),
}


# ================================================================== dedupe keys


def _readable_key(*parts: str) -> str:
    """``a:b:c`` while that is short printable ASCII (ids as Meta sent them), else ``a:<sha256 prefix>``."""
    readable = ":".join(parts)
    if len(readable) <= MAX_READABLE_KEY_LENGTH and all(33 <= ord(char) <= 126 for char in readable):
        return readable
    return f"{parts[0]}:{_sha256(readable)}"


def _digest_key(prefix: str, *parts: Any) -> str:
    """``prefix:<sha256 prefix of the parts' canonical JSON>``: keys over composite or free-form values."""
    return f"{prefix}:{_sha256(_canonical_json(list(parts)))}"


def _canonical_json(value: Any) -> str:
    """The same text for the same JSON value, whatever its key order or the body's whitespace."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=True)
    except (TypeError, ValueError, RecursionError):  # not JSON (only possible for callers' own values)
        return repr(value)


def _sha256(text: str) -> str:
    # surrogatepass: a lone surrogate from a "\ud83d" escape must hash, not raise.
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:_HASH_HEX_CHARS]


# ================================================================== small readers


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _copy_dict(value: Any) -> dict[str, Any] | None:
    """A dict of Meta's kept as sent (see _json_copy), or None for anything that is not a dict."""
    return _json_copy(value) if isinstance(value, dict) else None


def _json_copy(value: Any) -> Any:
    """A deep copy of a JSON value whose strings (keys too) pass through _valid_text."""
    if isinstance(value, str):
        return _valid_text(value)
    if isinstance(value, dict):
        return {_valid_text(str(key)): _json_copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_json_copy(item) for item in value]
    return value


def _valid_text(value: str) -> str:
    """The string unchanged unless it holds a lone surrogate (a "\\ud83d" escape with no pair).

    json.loads accepts those but no UTF-8 encoder does, so one would make the unit unserialisable and
    the delivery fail for days; each becomes U+FFFD. Valid text is never touched (no normalisation).
    """
    return _LONE_SURROGATE.sub("\ufffd", value) if _LONE_SURROGATE.search(value) else value


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _text(value: Any) -> str | None:
    """A string exactly as sent (no normalisation), or None for anything that is not a string."""
    return _valid_text(value) if isinstance(value, str) else None


def _id(value: Any) -> str | None:
    """Meta ids are strings, some (app_id, sticker_id) are numbers: both become the string; "" is None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value:
        return _valid_text(value)
    return None


def _flag(value: Any) -> bool:
    return value is True


def _int(value: Any) -> int | None:
    """An integer sent as a number or as a string of digits (WhatsApp times), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, str) and 0 < len(value) <= 20:
        try:
            number = float(value) if any(char in value for char in ".eE") else int(value)
        except ValueError:
            return None
        return int(number) if math.isfinite(number) else None
    return None


def _plausible_ms(value: int | None) -> int | None:
    return value if value is not None and _MIN_EPOCH_MS <= value < _MAX_EPOCH_MS else None


def _event_ms(value: Any, source: _Source) -> int:
    """Messenger / Instagram event ``timestamp`` (milliseconds), else the entry's time."""
    return _plausible_ms(_int(value)) or source.fallback_ms


def _epoch_seconds_to_ms(value: Any) -> int | None:
    """WhatsApp's string seconds and the feed's created_time seconds, in milliseconds."""
    seconds = _int(value)
    return _plausible_ms(seconds * 1000) if seconds is not None else None


def _epoch_ms_guess(value: Any) -> int | None:
    """An epoch of unknown unit (entry.time is ms for messaging, seconds for feed): small means seconds."""
    number = _int(value)
    if number is None or number <= 0:
        return None
    return _plausible_ms(number * 1000 if number < _SECONDS_BELOW else number)


def _party_id(party: Any) -> str | None:
    """``sender`` / ``recipient``: ``{id}``, or ``{user_ref}`` from a plugin before a PSID exists."""
    if not isinstance(party, dict):
        return None
    party_id = _id(party.get("id"))
    if party_id:
        return party_id
    user_ref = _id(party.get("user_ref"))
    return f"user_ref:{user_ref}" if user_ref else None


def _wa_user_id(wa_id: Any, bsuid: Any) -> str | None:
    """A WhatsApp user: the wa_id digits (a leading "+" dropped), else the BSUID."""
    phone = _id(wa_id)
    if phone is not None:
        phone = phone.removeprefix("+") or None
    return phone or _id(bsuid)


def _require_dict(value: Any, reason: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Unusable(reason)
    return value


def _require_id(value: Any, reason: str) -> str:
    found = _id(value)
    if found is None:
        raise _Unusable(reason)
    return found


def _without_none(values: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in values.items() if value is not None}


def _error_list(value: Any) -> list[dict[str, Any]]:
    return [_json_copy(error) for error in _list(value) if isinstance(error, dict)]
