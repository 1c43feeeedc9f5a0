"""What the parsers of every object share: the item's source, UNUSABLE units and the guards that make
them, dedupe keys, and small readers that never trust Meta's shapes."""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inbox_crm.core.observability import logger
from inbox_crm.core.safe_json import LONE_SURROGATE
from inbox_crm.meta.units import InboundUnit, Platform, UnitKind

# timestamp_ms of a unit Meta gave no time for (and whose entry has none): never the parse time.
UNKNOWN_TIME_MS = 0
# Readable dedupe keys longer than this are hashed (it is also SQS's deduplication-id limit).
MAX_READABLE_KEY_LENGTH = 128
_HASH_HEX_CHARS = 40  # 160 bits of SHA-256
# Event times outside [2001, 2286) are not believed; the entry time or the receive time is used.
_MIN_EPOCH_MS = 10**12
_MAX_EPOCH_MS = 10**13
_SECONDS_BELOW = 10**11  # a fallback epoch below this is in seconds, not milliseconds

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
