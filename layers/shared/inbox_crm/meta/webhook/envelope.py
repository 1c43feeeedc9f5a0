"""The delivery envelope: ``object`` → ``entry[]`` → ``messaging[]`` / ``standby[]`` / ``changes[]``,
and which parser reads each object's arrays and fields."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from inbox_crm.core.observability import logger
from inbox_crm.meta.units import InboundUnit, Platform
from inbox_crm.meta.webhook.common import (
    UNKNOWN_TIME_MS,
    _epoch_ms_guess,
    _guarded,
    _guarded_many,
    _id,
    _Source,
    _text,
    _Unusable,
    _unusable,
)
from inbox_crm.meta.webhook.feed import _feed_change
from inbox_crm.meta.webhook.messaging import _event_key, _instagram_dashboard_test, _parse_messaging_event
from inbox_crm.meta.webhook.whatsapp import _whatsapp_messages_change

_MESSAGING_ARRAYS = (("messaging", False), ("standby", True))


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
