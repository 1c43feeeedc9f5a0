"""Identifiers: time-ordered random ids for new records, stable hashed ids for platform keys.

``new_id`` is a ULID in lower-case Crockford base32 (``0-9`` then ``a-z`` without ``i l o u``, so
the alphabet is in ASCII order): 48 bits of milliseconds then 80 random bits, 26 characters.
Comparing two ids as strings compares their creation times, which is what sort keys such as
``MERGE#<merge id>`` rely on for "newest first". Within one millisecond in one process the random
part is incremented instead of redrawn, so ids minted in a row still sort in minting order.

Ids minted before this encoding (RFC 4648 base32, also 26 characters) stay valid ids; they were
never time-ordered, and they sort after every new id (their first character is a letter).
"""

from __future__ import annotations

import base64
import hashlib
import os
import threading
import time

CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"
_RANDOM_BITS = 80
_RANDOM_LIMIT = 1 << _RANDOM_BITS
_lock = threading.Lock()
_last_millis = -1
_last_random = 0


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").rstrip("=").lower()


def _crockford(value: int, length: int) -> str:
    digits = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        digits.append(CROCKFORD[digit])
    return "".join(reversed(digits))


def _next_ulid() -> int:
    global _last_millis, _last_random
    millis = int(time.time() * 1000)
    with _lock:
        if millis <= _last_millis:
            # Same millisecond (or the clock stepped back): stay after the previous id.
            millis, random = _last_millis, _last_random + 1
            if random >= _RANDOM_LIMIT:
                millis, random = millis + 1, int.from_bytes(os.urandom(10), "big") >> 1
        else:
            random = int.from_bytes(os.urandom(10), "big")
        _last_millis, _last_random = millis, random
    return (millis << _RANDOM_BITS) | random


def new_id(prefix: str) -> str:
    """A sortable id: ``<prefix>_`` and a ULID (lexicographic order == creation order)."""
    return f"{prefix}_{_crockford(_next_ulid(), 26)}"


def stable_id(prefix: str, *parts: str) -> str:
    """The same inputs always give the same id: used where Meta's ids must map to one record.
    Kept in RFC 4648 base32 on purpose: changing it would orphan every stored record it keys."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return f"{prefix}_{_b32(digest[:16])}"
