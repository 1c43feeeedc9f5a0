"""Replays a Meta webhook to the local stack, signed like Meta signs it.

The file holds the webhook body (top-level ``"object"``), or a wrapper with it under ``"body"``: a
JSON object (serialised here the way Meta does) or a string, as in an API Gateway event, which is
sent byte for byte, since the signature covers the raw body.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

DEFAULT_WEBHOOK_URL = "http://127.0.0.1:3000/webhooks/meta"


def meta_serialise(document: Any) -> bytes:
    """Meta's serialisation: compact, non-ASCII as \\uXXXX escapes, and '/' escaped as '\\/'."""
    text = json.dumps(document, ensure_ascii=True, separators=(",", ":"))
    # '/' only occurs inside JSON strings, where '\/' is a valid escape of it.
    return text.replace("/", "\\/").encode("ascii")


def webhook_body(document: Any) -> bytes:
    if isinstance(document, dict) and "object" in document:
        return meta_serialise(document)
    if isinstance(document, dict) and "body" in document:
        body = document["body"]
        if isinstance(body, str):
            return base64.b64decode(body) if document.get("isBase64Encoded") else body.encode("utf-8")
        return meta_serialise(body)
    raise ValueError('not a Meta webhook: expected a top-level "object" or a "body"')


def signature(body: bytes, app_secret: str) -> str:
    return "sha256=" + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def replay(path: Path, url: str, app_secret: str, timeout: float = 30) -> tuple[int, str]:
    """POSTs the signed body; returns the response status and text."""
    return post_webhook(json.loads(path.read_text(encoding="utf-8")), url, app_secret, timeout)


def post_webhook(document: Any, url: str, app_secret: str, timeout: float = 30) -> tuple[int, str]:
    """POSTs a webhook document (or wrapper) signed as Meta would; the response status and text."""
    body = webhook_body(document)
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature(body, app_secret),
            "User-Agent": "facebookexternalua",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8", "replace")
