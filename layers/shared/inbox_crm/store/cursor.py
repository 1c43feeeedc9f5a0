"""Opaque pagination cursors: DynamoDB's LastEvaluatedKey, bound to the partition it came from."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from inbox_crm.core.errors import InvalidInput


def encode_cursor(last_evaluated_key: dict[str, Any] | None) -> str | None:
    if not last_evaluated_key:
        return None
    raw = json.dumps(last_evaluated_key, separators=(",", ":"), sort_keys=True).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def decode_cursor(
    cursor: str | None, *, partition_attribute: str, partition_value: str
) -> dict[str, Any] | None:
    """The key to resume from; a cursor of another listing (or workspace) is refused, not obeyed."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (binascii.Error, ValueError, UnicodeError):
        raise InvalidInput("The cursor is not valid", {"cursor": "malformed"}) from None
    if not isinstance(key, dict) or key.get(partition_attribute, {}).get("S") != partition_value:
        raise InvalidInput("The cursor does not belong to this listing", {"cursor": "foreign"})
    return key
