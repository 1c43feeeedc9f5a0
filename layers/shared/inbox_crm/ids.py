"""Identifiers: time-ordered random ids for new records, stable hashed ids for platform keys."""

from __future__ import annotations

import base64
import hashlib
import os
import time

_ALPHABET_FIX = str.maketrans("", "", "=")


def _b32(raw: bytes) -> str:
    return base64.b32encode(raw).decode("ascii").translate(_ALPHABET_FIX).lower()


def new_id(prefix: str) -> str:
    """A sortable id: 48 bits of milliseconds then 80 random bits (ULID layout)."""
    millis = int(time.time() * 1000).to_bytes(6, "big")
    return f"{prefix}_{_b32(millis + os.urandom(10))}"


def stable_id(prefix: str, *parts: str) -> str:
    """The same inputs always give the same id: used where Meta's ids must map to one record."""
    digest = hashlib.sha256("\x1f".join(parts).encode("utf-8")).digest()
    return f"{prefix}_{_b32(digest[:16])}"
