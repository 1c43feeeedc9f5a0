"""What Meta's Graph API answers, as the stand-in (graph_standin.py) gives it back: its error shape,
send receipts, profiles, granted accounts, the media it serves, and how it reads request bodies."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

# The smallest valid PNG (1x1, transparent): what every /_media download returns.
PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def trace_id() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(9)).decode("ascii")


def meta_error(
    message: str, code: int, error_type: str = "OAuthException", subcode: int | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "type": error_type, "code": code, "fbtrace_id": trace_id()}
    if subcode is not None:
        error["error_subcode"] = subcode
    return {"error": error}


# What debug_token lists a granted account under, per platform.
SCOPES = {
    "messenger": ("pages_messaging", "pages_manage_metadata"),
    "instagram": ("instagram_basic", "instagram_manage_messages"),
    "whatsapp": ("whatsapp_business_messaging", "whatsapp_business_management"),
}


@dataclass(frozen=True)
class Grant:
    """``token`` may act for ``account_id`` (a WhatsApp number through its WABA ``waba_id``)."""

    token: str
    platform: str
    account_id: str
    name: str
    waba_id: str | None = None

    @property
    def target_id(self) -> str:
        return self.waba_id if self.platform == "whatsapp" and self.waba_id else self.account_id


def unknown_object(node: str) -> dict[str, Any]:
    return meta_error(
        f"Unsupported get request. Object with ID '{node}' does not exist, cannot be loaded due to "
        "missing permissions, or does not support this operation.",
        100,
        "GraphMethodException",
        subcode=33,
    )


INVALID_TOKEN = meta_error("Invalid OAuth access token - Cannot parse access token", 190)
NO_PERMISSION = meta_error("(#10) Application does not have permission for this action", 10)


def default_profile(user_id: str, base_url: str) -> dict[str, Any]:
    suffix = user_id[-4:]
    return {
        "first_name": "Cliente",
        "last_name": suffix,
        "name": f"Cliente {suffix}",
        "username": f"cliente_{user_id[-6:]}",
        "profile_pic": f"{base_url}/_media/profile-{user_id}",
    }


def send_response(body: dict[str, Any]) -> dict[str, Any]:
    if body.get("messaging_product") == "whatsapp":
        if body.get("status") == "read":
            return {"success": True}
        to = str(body.get("to", ""))
        wamid = "wamid." + base64.b64encode(secrets.token_bytes(24)).decode("ascii")
        return {
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": "".join(ch for ch in to if ch.isdigit())}],
            "messages": [{"id": wamid}],
        }
    recipient = body.get("recipient") or {}
    if not isinstance(recipient, dict):
        recipient = {}
    recipient_id = recipient.get("id") or stable_digits(
        str(recipient.get("comment_id") or recipient.get("post_id") or recipient)
    )
    if "message" not in body and "sender_action" in body:
        return {"recipient_id": str(recipient_id)}
    return {"recipient_id": str(recipient_id), "message_id": "m_" + secrets.token_urlsafe(32)}


def stable_digits(value: str) -> str:
    return str(int(hashlib.sha256(value.encode("utf-8")).hexdigest()[:13], 16))


def parse_body(content_type: str, raw: bytes) -> Any:
    if not raw:
        return None
    kind = content_type.split(";", maxsplit=1)[0].strip().lower()
    text = raw.decode("utf-8", "replace")
    if kind == "application/json":
        try:
            return json.loads(text)
        except ValueError:
            return text
    if kind == "application/x-www-form-urlencoded":
        # Graph takes JSON-valued form fields (recipient={"id":…}): decode them for the record.
        form: dict[str, Any] = {}
        for key, value in parse_qsl(text, keep_blank_values=True):
            try:
                form[key] = json.loads(value) if value[:1] in ("{", "[") else value
            except ValueError:
                form[key] = value
        return form
    if kind.startswith("multipart/"):
        return {"multipart": True, "bytes": len(raw)}
    return text
