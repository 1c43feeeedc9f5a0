"""What we send to Meta: request bodies per channel, and Meta's errors in words an agent understands.

Pure functions: no I/O. The Graph client (meta/graph.py) does the calls.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inbox_crm.meta.policy import Route

TEXT_LIMITS = {"messenger": 2000, "instagram": 1000, "whatsapp": 4096}
MAX_ATTACHMENTS = 3
MAX_BUTTONS = 3
MAX_QUICK_REPLIES = 13


@dataclass(frozen=True)
class OutboundContent:
    text: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)  # {type, url, caption?, filename?}
    buttons: list[dict[str, Any]] = field(
        default_factory=list
    )  # {type: web_url|postback, title, url|payload}
    quick_replies: list[dict[str, Any]] = field(default_factory=list)  # {title, payload}
    template: dict[str, Any] | None = None  # {name, language, components?}
    reply_to: str | None = None  # the platform message id answered


@dataclass(frozen=True)
class Request:
    """One Graph API call: a message may take several (Messenger sends attachments one by one)."""

    method: str
    path: str
    body: dict[str, Any]


def _messenger_type(route: Route) -> dict[str, Any]:
    if route == Route.HUMAN_AGENT:
        return {"messaging_type": "MESSAGE_TAG", "tag": "HUMAN_AGENT"}
    if route == Route.TEMPLATE:
        return {"messaging_type": "UTILITY"}
    return {"messaging_type": "RESPONSE"}


def _messenger_buttons(buttons: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"type": "web_url", "title": b["title"], "url": b["url"]}
        if b["type"] == "web_url"
        else {"type": "postback", "title": b["title"], "payload": b["payload"]}
        for b in buttons
    ]


def messenger_requests(
    account_id: str,
    recipient: dict[str, Any],
    content: OutboundContent,
    route: Route,
    metadata: str,
) -> list[Request]:
    """Messenger and Instagram (both POST /<page or IG account>/messages)."""
    base = {"recipient": recipient, **_messenger_type(route), "metadata": metadata}
    if route == Route.PRIVATE_REPLY:
        base.pop("messaging_type", None)
    path = f"{account_id}/messages"
    requests: list[Request] = []
    if content.template is not None:
        template: dict[str, Any] = {
            "template_type": "utility",
            "name": content.template["name"],
            "language": {"code": content.template.get("language", "es")},
        }
        if content.template.get("components"):
            template["components"] = content.template["components"]
        utility = {"attachment": {"type": "template", "payload": template}}
        return [Request("POST", path, {**base, "message": utility})]
    if content.buttons:
        payload = {
            "template_type": "button",
            "text": content.text or "",
            "buttons": _messenger_buttons(content.buttons),
        }
        message: dict[str, Any] = {"attachment": {"type": "template", "payload": payload}}
    elif content.text:
        message = {"text": content.text}
    else:
        message = {}
    if content.quick_replies and message:
        message["quick_replies"] = [
            {"content_type": "text", "title": q["title"], "payload": q["payload"]}
            for q in content.quick_replies
        ]
    if content.reply_to and message:
        base = {**base, "reply_to": {"mid": content.reply_to}}
    if message:
        requests.append(Request("POST", path, {**base, "message": message}))
    for attachment in content.attachments:
        kind = attachment["type"] if attachment["type"] in ("image", "video", "audio", "file") else "file"
        body = {**base, "message": {"attachment": {"type": kind, "payload": {"url": attachment["url"]}}}}
        requests.append(Request("POST", path, body))
    return requests


def whatsapp_requests(
    phone_number_id: str, to: str, content: OutboundContent, callback_data: str, *, bsuid_only: bool = False
) -> list[Request]:
    base: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "biz_opaque_callback_data": callback_data,
    }
    # Since 2026 a user known only by business-scoped id is addressed with "recipient".
    base.update({"recipient": to} if bsuid_only else {"to": to if to.startswith("+") else f"+{to}"})
    if content.reply_to:
        base["context"] = {"message_id": content.reply_to}
    path = f"{phone_number_id}/messages"
    if content.template is not None:
        template: dict[str, Any] = {
            "name": content.template["name"],
            "language": {"code": content.template.get("language", "es")},
        }
        if content.template.get("components"):
            template["components"] = content.template["components"]
        return [Request("POST", path, {**base, "type": "template", "template": template})]
    requests: list[Request] = []
    if content.buttons:
        web = [b for b in content.buttons if b["type"] == "web_url"]
        if web:
            interactive: dict[str, Any] = {
                "type": "cta_url",
                "body": {"text": content.text or ""},
                "action": {
                    "name": "cta_url",
                    "parameters": {"display_text": web[0]["title"], "url": web[0]["url"]},
                },
            }
        else:
            interactive = {
                "type": "button",
                "body": {"text": content.text or ""},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": b["payload"], "title": b["title"][:20]}}
                        for b in content.buttons
                    ]
                },
            }
        requests.append(Request("POST", path, {**base, "type": "interactive", "interactive": interactive}))
    elif content.text:
        requests.append(Request("POST", path, {**base, "type": "text", "text": {"body": content.text}}))
    for attachment in content.attachments:
        kind = {"file": "document"}.get(attachment["type"], attachment["type"])
        media: dict[str, Any] = {"link": attachment["url"]}
        if attachment.get("caption") and kind in ("image", "video", "document"):
            media["caption"] = attachment["caption"]
        if attachment.get("filename") and kind == "document":
            media["filename"] = attachment["filename"]
        requests.append(Request("POST", path, {**base, "type": kind, kind: media}))
    return requests


def comment_reply_request(comment_id: str, text: str) -> Request:
    """A public reply under a Page comment."""
    return Request("POST", f"{comment_id}/comments", {"message": text})


def platform_message_id(response: dict[str, Any]) -> str | None:
    if "message_id" in response:
        return str(response["message_id"])
    messages = response.get("messages") or []
    if messages and messages[0].get("id"):
        return str(messages[0]["id"])
    if "id" in response:
        return str(response["id"])  # a public comment reply
    return None


# ------------------------------------------------------------------ Meta errors, for agents

_REASONS: dict[tuple[int | None, int | None], tuple[str, str]] = {
    (10, 2018278): ("window_closed", "The 24-hour window is closed: send a template"),
    (10, 2534022): ("window_closed", "The 24-hour window is closed: send a template"),
    (131047, None): ("window_closed", "The 24-hour window is closed: send a template"),
    (551, None): ("recipient_unavailable", "This person is not receiving messages right now"),
    (100, 2534025): ("comment_not_repliable", "This comment cannot receive a private reply"),
    (190, None): ("channel_token_expired", "The channel's access token expired: reconnect the channel"),
    (200, 2534041): ("channel_access_disabled", "The account owner disabled message access: reconnect"),
    (10, 1893063): ("page_restricted", "The Page is temporarily restricted by Meta"),
    (2018300, None): ("thread_owned_by_other_app", "Another app controls this conversation"),
    (100, 2534037): ("thread_owned_by_other_app", "Another app controls this conversation"),
    (131026, None): ("undeliverable", "WhatsApp could not deliver this message"),
    (131049, None): ("not_delivered_ecosystem", "WhatsApp held this marketing message back"),
    (131056, None): ("rate_limited", "Too many messages to this person: try again shortly"),
    (130429, None): ("rate_limited", "Too many messages right now: try again shortly"),
    (613, None): ("rate_limited", "Too many messages right now: try again shortly"),
    (4, None): ("rate_limited", "Too many messages right now: try again shortly"),
    (100, None): ("invalid_request", "Meta refused the message as invalid"),
}


def explain(code: int | None, subcode: int | None, message: str | None) -> tuple[str, str]:
    """(reason code, reason) for an agent; the UI translates the reason code."""
    for key in ((code, subcode), (code, None), (subcode, None)):
        if key in _REASONS:
            return _REASONS[key]
    return ("meta_error", message or "Meta refused the message")
