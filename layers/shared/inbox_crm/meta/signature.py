"""Meta webhook authentication: the GET verification handshake and the POST body signature.

Meta signs every POST with ``X-Hub-Signature-256: sha256=<64 lowercase hex>``, the HMAC-SHA256 of the
raw request bytes keyed with the app secret of the app that owns the subscription. Several Meta apps
may be configured (Messenger/Instagram and WhatsApp often live in different apps), so a body is
accepted when it matches any configured secret. The legacy ``X-Hub-Signature: sha1=…`` is refused.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence

SIGNATURE_PREFIX = "sha256="
_DIGEST_HEX_LENGTH = 64
_HEX_DIGITS = frozenset("0123456789abcdef")


def sign(raw_body: bytes, secret: str) -> str:
    """The ``X-Hub-Signature-256`` header value Meta would send for this body (tests and replays)."""
    return SIGNATURE_PREFIX + _hex_digest(raw_body, secret)


def verify_signature(raw_body: bytes, header_value: str | None, secrets: Sequence[str]) -> bool:
    """True when ``header_value`` is a well-formed SHA-256 signature of ``raw_body`` by one of ``secrets``.

    ``raw_body`` must be the bytes exactly as received: Meta signs its escaped-unicode serialisation,
    so a parsed and re-encoded body does not verify. Every configured secret is compared (in constant
    time) whichever one matches, so the timing does not tell which app signed the body. Empty secrets
    are ignored: an HMAC keyed with "" is one anybody can compute.
    """
    candidate = _digest_from_header(header_value)
    if candidate is None or not isinstance(raw_body, bytes | bytearray | memoryview):
        return False
    usable = [secret for secret in _as_secret_list(secrets) if secret]
    if not usable:
        return False
    body = bytes(raw_body)
    matched = False
    for secret in usable:
        expected = _hex_digest(body, secret).encode("ascii")
        matched |= hmac.compare_digest(expected, candidate)
    return matched


def verify_handshake(params: Mapping[str, str], expected_token: str | None) -> str | None:
    """The ``hub.challenge`` to answer with, verbatim, or None when the handshake must be refused (403).

    Meta's GET carries ``hub.mode=subscribe``, ``hub.verify_token`` (the token typed in the App
    Dashboard) and ``hub.challenge`` (documented both as an int and as a random string: it is never
    cast). With no token configured every handshake is refused.
    """
    if not expected_token or not isinstance(expected_token, str):
        return None
    mode = params.get("hub.mode")
    token = params.get("hub.verify_token")
    challenge = params.get("hub.challenge")
    if mode != "subscribe" or not isinstance(token, str) or not isinstance(challenge, str) or not challenge:
        return None
    if not hmac.compare_digest(token.encode("utf-8"), expected_token.encode("utf-8")):
        return None
    return challenge


def _hex_digest(raw_body: bytes, secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), raw_body, hashlib.sha256).hexdigest()


def _digest_from_header(header_value: str | None) -> bytes | None:
    """The 64 hex digits after ``sha256=``, or None for anything else (missing, sha1=, wrong length…)."""
    if not isinstance(header_value, str):
        return None
    value = header_value.strip()
    if not value.startswith(SIGNATURE_PREFIX):
        return None
    # Meta sends lowercase hex; upper case is the same digest, so it is accepted rather than refused.
    digest = value[len(SIGNATURE_PREFIX) :].lower()
    if len(digest) != _DIGEST_HEX_LENGTH or not _HEX_DIGITS.issuperset(digest):
        return None
    return digest.encode("ascii")


def _as_secret_list(secrets: Sequence[str]) -> list[str]:
    # A bare string is a Sequence[str] too: iterating it would try each character as a one-letter key.
    if isinstance(secrets, str):
        return [secrets]
    return [secret for secret in secrets if isinstance(secret, str)]
