"""Messenger and Instagram messaging events (``entry.messaging[]`` / ``standby[]``: messages, echoes,
reactions, edits, receipts, postbacks, referrals), and Instagram's ``changes``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any, Literal

from inbox_crm.meta.units import InboundUnit, Platform, UnitAttachment, UnitEdit, UnitKind, UnitReaction
from inbox_crm.meta.webhook.common import (
    _copy_dict,
    _dict,
    _digest_key,
    _event_ms,
    _flag,
    _id,
    _int,
    _json_copy,
    _list,
    _party_id,
    _plausible_ms,
    _readable_key,
    _require_dict,
    _require_id,
    _Source,
    _text,
    _Unusable,
    _valid_text,
)

_ReactionAction = Literal["react", "unreact"]


def message_dedupe_key(platform: Platform, account_id: str, message_id: str) -> str:
    """The dedupe key of a Messenger / Instagram message (or echo) with this ``mid``.

    Exposed so the send path can record the key of a message it sent: its echo then dedupes against it.
    """
    return _readable_key("mid", platform, account_id, message_id)


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


# Instagram's changes
def _instagram_dashboard_test(source: _Source, value: Any) -> list[InboundUnit]:
    # The App Dashboard "Test" button posts a messages sample as a change instead of in messaging[].
    raise _Unusable("dashboard_test")
