"""WhatsApp Cloud API ``changes[].value``: ``messages[]``, ``statuses[]`` and ``errors[]``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from typing import Any, Literal, cast

from inbox_crm.meta.units import InboundUnit, UnitAttachment, UnitKind, UnitReaction, UnitStatus
from inbox_crm.meta.webhook.common import (
    _copy_dict,
    _dict,
    _digest_key,
    _epoch_seconds_to_ms,
    _error_list,
    _flag,
    _guarded,
    _id,
    _int,
    _json_copy,
    _list,
    _readable_key,
    _require_dict,
    _require_id,
    _Source,
    _text,
    _Unusable,
    _unusable,
    _wa_user_id,
    _without_none,
)

_StatusName = Literal["sent", "delivered", "read", "played", "failed", "deleted"]


_STATUSES = frozenset({"sent", "delivered", "read", "played", "failed", "deleted"})


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
