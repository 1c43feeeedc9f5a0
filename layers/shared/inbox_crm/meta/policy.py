"""Meta's messaging policy as one pure function: how a message may be sent now, or why not.

Facts (reference/meta-platform.md, as of 2026): Messenger and Instagram allow free-form messages
within 24 h of the customer's last message; a human agent may answer with the HUMAN_AGENT tag up to
7 days; the other tags were retired on 2026-04-27 (error 100), so automated messages past 24 h need a
Messenger utility template. WhatsApp allows free-form messages within the 24 h customer-service
window and approved templates at any time. A Page comment may get one private reply within 7 days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

STANDARD_WINDOW = timedelta(hours=24)
HUMAN_AGENT_WINDOW = timedelta(days=7)
PRIVATE_REPLY_WINDOW = timedelta(days=7)


class Sender(StrEnum):
    HUMAN = "human"
    AUTOMATION = "automation"


class Kind(StrEnum):
    FREE_FORM = "free_form"  # text, media, buttons, quick replies
    TEMPLATE = "template"  # WhatsApp template / Messenger utility template
    PRIVATE_REPLY = "private_reply"  # private reply to a Page comment


class Route(StrEnum):
    STANDARD = "standard"  # inside the 24-hour window (Messenger messaging_type RESPONSE)
    HUMAN_AGENT = "human_agent"  # MESSAGE_TAG + HUMAN_AGENT (Messenger / Instagram)
    TEMPLATE = "template"  # WhatsApp template or Messenger UTILITY template
    PRIVATE_REPLY = "private_reply"
    REFUSED = "refused"


@dataclass(frozen=True)
class Decision:
    route: Route
    reason_code: str | None = None  # machine-readable, when refused
    reason: str | None = None  # for the agent, when refused

    @property
    def allowed(self) -> bool:
        return self.route != Route.REFUSED


def _refuse(code: str, reason: str) -> Decision:
    return Decision(Route.REFUSED, code, reason)


def decide(
    channel: str,
    last_inbound_at: datetime | None,
    sender: Sender,
    kind: Kind,
    now: datetime,
    *,
    comment_created_at: datetime | None = None,
    private_reply_sent: bool = False,
) -> Decision:
    """How a message of `kind` from `sender` may go out on `channel` at `now`, or why it may not."""
    if kind == Kind.PRIVATE_REPLY:
        if channel not in ("messenger", "instagram"):
            return _refuse(
                "private_reply_unsupported", "Private replies exist only for Facebook and Instagram"
            )
        if comment_created_at is None:
            return _refuse("private_reply_without_comment", "A private reply answers a comment")
        if private_reply_sent:
            return _refuse("private_reply_already_sent", "This comment already has its one private reply")
        if now - comment_created_at > PRIVATE_REPLY_WINDOW:
            return _refuse(
                "private_reply_expired", "Private replies are possible for 7 days after the comment"
            )
        return Decision(Route.PRIVATE_REPLY)

    age = None if last_inbound_at is None else now - last_inbound_at
    inside_standard = age is not None and age <= STANDARD_WINDOW
    if kind == Kind.TEMPLATE:
        return Decision(Route.TEMPLATE)
    if inside_standard:
        return Decision(Route.STANDARD)
    if channel == "whatsapp":
        return _refuse("window_closed_template_required", "The 24-hour window is closed: send a template")
    if sender == Sender.HUMAN and age is not None and age <= HUMAN_AGENT_WINDOW:
        return Decision(Route.HUMAN_AGENT)
    if age is None:
        return _refuse("no_customer_message", "The customer has not written yet: send a template")
    if sender == Sender.HUMAN:
        return _refuse(
            "human_agent_window_closed", "More than 7 days since the customer's last message: send a template"
        )
    return _refuse("window_closed_template_required", "The 24-hour window is closed: send a utility template")


def free_form_until(channel: str, last_inbound_at: datetime | None, sender: Sender) -> datetime | None:
    """Until when free-form replies are open for this sender (None: not open)."""
    if last_inbound_at is None:
        return None
    if channel in ("messenger", "instagram") and sender == Sender.HUMAN:
        return last_inbound_at + HUMAN_AGENT_WINDOW
    return last_inbound_at + STANDARD_WINDOW
