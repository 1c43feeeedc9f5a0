"""Composing a send: checked, then stored before anything leaves.

A message is written as ``queued`` (or ``scheduled`` with a due time on gsi2) in the same transaction
as its idempotency key and, for a private reply, the comment's one-reply marker. Meta's policy is
decided here for an immediate send (an agent learns at once that the window is closed) and again
when it is delivered (see deliver.py).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from inbox_crm.core.errors import Conflict, IdempotencyKeyReused, InvalidInput, NotFound
from inbox_crm.core.ids import new_id
from inbox_crm.core.timeutil import to_millis
from inbox_crm.events.outbox import DomainEvent
from inbox_crm.inbox.messages import STATUS_RANK, message_id_for, preview_of
from inbox_crm.meta.policy import Decision, Kind, Sender, decide
from inbox_crm.meta.send import MAX_ATTACHMENTS, MAX_BUTTONS, TEXT_LIMITS, OutboundContent
from inbox_crm.outbound.transitions import QUEUED_GRACE, set_due
from inbox_crm.ports import ports
from inbox_crm.store.models import (
    Conversation,
    Identity,
    Message,
    MessagePointer,
    PrivateReply,
    SendRequest,
)
from inbox_crm.store.transactions import TransactionConflict, transaction

_IDEMPOTENCY_TTL = timedelta(hours=24)


@dataclass(frozen=True)
class Author:
    kind: Sender
    id: str
    caused_by_flow: str | None = None


@dataclass(frozen=True)
class SendSpec:
    content: OutboundContent
    send_at: datetime | None = None
    reply_mode: str = "message"  # message | public_reply | private_reply (comment conversations)
    comment_id: str | None = None  # the comment answered; default: the latest customer comment
    idempotency_key: str | None = None


@dataclass
class Composed:
    message: Message
    created: bool
    conversation: Conversation | None = None  # as read while composing: delivery reuses them
    identity: Identity | None = None
    events: list[DomainEvent] = field(default_factory=list)


def validate(conversation: Conversation, spec: SendSpec) -> Kind:
    """What the channel accepts, before anything is stored; the kind of send it is for the policy."""
    content = spec.content
    if not (content.text or content.attachments or content.template):
        raise InvalidInput("Send a text, attachments or a template", {"fields": ["text"]})
    limit = TEXT_LIMITS.get(conversation.platform, 2000)
    if content.text and len(content.text) > limit:
        raise InvalidInput(f"The text is longer than {limit} characters for this channel", {"limit": limit})
    if len(content.attachments) > MAX_ATTACHMENTS:
        raise InvalidInput(f"At most {MAX_ATTACHMENTS} attachments", {"fields": ["attachments"]})
    if len(content.buttons) > MAX_BUTTONS:
        raise InvalidInput(f"At most {MAX_BUTTONS} buttons", {"fields": ["buttons"]})
    if content.buttons and not content.text:
        raise InvalidInput("Buttons need a text", {"fields": ["text"]})
    if content.template is not None and conversation.platform == "instagram":
        raise InvalidInput("Instagram has no message templates", {"fields": ["template"]})
    if spec.reply_mode != "message":
        if conversation.kind != "comment":
            raise InvalidInput(
                "Public and private replies answer a comment conversation", {"fields": ["reply"]}
            )
        if spec.reply_mode == "public_reply" and not content.text:
            raise InvalidInput("A public reply is a text", {"fields": ["text"]})
        if spec.reply_mode == "public_reply" and (content.attachments or content.buttons or content.template):
            raise InvalidInput("A public reply is text only", {"fields": ["attachments", "buttons"]})
        return Kind.PRIVATE_REPLY if spec.reply_mode == "private_reply" else Kind.FREE_FORM
    if conversation.kind == "comment":
        raise InvalidInput("Answer a comment publicly or privately", {"fields": ["reply"]})
    return Kind.TEMPLATE if content.template is not None else Kind.FREE_FORM


def _latest_comment(conversation: Conversation) -> Message | None:
    for message in Message.query(
        conversation.pk, Message.sk.startswith("MSG#"), scan_index_forward=False, limit=50
    ):
        if isinstance(message, Message) and message.direction == "inbound" and message.kind == "comment":
            return message
    return None


def _comment_context(conversation: Conversation, identity: Identity, spec: SendSpec) -> tuple[str, datetime]:
    """The comment answered and when it was written (private replies: 7 days)."""
    if spec.comment_id:
        sent_at = comment_time(conversation, identity.account_id, spec.comment_id)
        if sent_at is None:
            raise NotFound("No such comment in this conversation")
        return spec.comment_id, sent_at
    latest = _latest_comment(conversation)
    if latest is None or not latest.platform_message_id:
        raise InvalidInput("There is no customer comment to answer", {"fields": ["comment_id"]})
    return latest.platform_message_id, latest.sent_at


def window_decision(
    conversation: Conversation,
    author: Author,
    kind: Kind,
    now: datetime,
    comment_at: datetime | None = None,
    *,
    private_reply_sent: bool = False,
) -> Decision:
    """Meta's policy for sending now: inside the window, a human agent's tag, a template, or refused."""
    return decide(
        conversation.platform,
        conversation.last_inbound_at,
        author.kind,
        kind,
        now,
        comment_created_at=comment_at,
        private_reply_sent=private_reply_sent,
    )


def conversation_identity(conversation: Conversation) -> Identity:
    return Identity.get(*Identity.key(conversation.workspace_id, conversation.identity_id))


def compose(
    workspace_id: str, conversation_id: str, spec: SendSpec, author: Author, now: datetime | None = None
) -> Composed:
    now = now or ports().clock()
    try:
        conversation = Conversation.get(
            *Conversation.key(workspace_id, conversation_id), consistent_read=True
        )
    except Conversation.DoesNotExist:
        raise NotFound("No such conversation") from None
    body_hash = _request_hash(spec)
    if spec.idempotency_key:
        existing = _existing_request(workspace_id, spec.idempotency_key, body_hash)
        if existing is not None:
            return Composed(existing, created=False)
    identity = conversation_identity(conversation)
    if identity.blocked:
        raise Conflict("This contact is blocked", {"reason_code": "contact_blocked"})
    kind = validate(conversation, spec)
    comment_id = None
    comment_at = None
    if spec.reply_mode != "message":
        comment_id, comment_at = _comment_context(conversation, identity, spec)
    scheduled = spec.send_at is not None and spec.send_at > now
    if spec.send_at is not None and spec.send_at > now + timedelta(days=365):
        raise InvalidInput("send_at must be within a year", {"fields": ["send_at"]})
    if not scheduled and spec.reply_mode != "public_reply":
        replied = _private_reply_sent(workspace_id, comment_id) if comment_id else False
        decision = window_decision(conversation, author, kind, now, comment_at, private_reply_sent=replied)
        if not decision.allowed:
            raise Conflict(decision.reason or "Not allowed now", {"reason_code": decision.reason_code})

    message_id = new_id("msg")
    at = spec.send_at if scheduled and spec.send_at else now
    content = spec.content
    message = Message(
        conversation.pk,
        Message.sk_for(to_millis(at), message_id),
        workspace_id=workspace_id,
        conversation_id=conversation_id,
        message_id=message_id,
        direction="outbound",
        kind="comment" if spec.reply_mode == "public_reply" else "message",
        origin="agent" if author.kind == Sender.HUMAN else "flow",
        sent_at=at,
        text=content.text,
        attachments=None,
        status="scheduled" if scheduled else "queued",
        status_rank=STATUS_RANK["queued"],
        sender_kind=author.kind.value,
        sender_id=author.id,
        caused_by_flow=author.caused_by_flow,
        content=_content_map(content, spec, comment_id),
        send_at=spec.send_at if scheduled else None,
        send_attempts=0,
        identity_id=conversation.identity_id,
        created_at=now,
    )
    if content.attachments:
        from inbox_crm.store.models import Attachment

        message.attachments = [Attachment(**attachment) for attachment in content.attachments]
    set_due(message, spec.send_at if scheduled and spec.send_at else now + QUEUED_GRACE)
    try:
        with transaction() as tx:
            tx.save(message, condition=Message.pk.does_not_exist())
            if spec.idempotency_key:
                request = SendRequest(
                    *SendRequest.key(workspace_id, spec.idempotency_key),
                    conversation_id=conversation_id,
                    message_id=message_id,
                    message_sk=message.sk,
                    body_hash=body_hash,
                    created_at=now,
                    expires_at=_IDEMPOTENCY_TTL,
                )
                tx.save(request, condition=SendRequest.pk.does_not_exist())
            if spec.reply_mode == "private_reply" and comment_id:
                marker = PrivateReply(
                    *PrivateReply.key(workspace_id, comment_id),
                    comment_id=comment_id,
                    message_id=message_id,
                    created_at=now,
                )
                tx.save(marker, condition=PrivateReply.pk.does_not_exist())
            if not scheduled:
                preview = preview_of(message.text, message.attachments, message.kind)
                tx.update(
                    conversation,
                    actions=[
                        Conversation.last_preview.set(preview),
                        Conversation.last_message_at.set(at),
                        Conversation.last_activity_at.set(at),
                        Conversation.gsi1sk.set(f"{to_millis(at):013d}#{conversation_id}"),
                    ]
                    if not conversation.hidden
                    else [Conversation.last_preview.set(preview), Conversation.last_message_at.set(at)],
                    condition=Conversation.pk.exists(),
                )
    except TransactionConflict as conflict:
        if spec.idempotency_key:
            existing = _existing_request(workspace_id, spec.idempotency_key, body_hash)
            if existing is not None:
                return Composed(existing, created=False)
        if spec.reply_mode == "private_reply":
            raise Conflict(
                "This comment already has its one private reply",
                {"reason_code": "private_reply_already_sent"},
            ) from None
        raise Conflict("The conversation changed; try again") from conflict
    return Composed(message, created=True, conversation=conversation, identity=identity)


def _content_map(content: OutboundContent, spec: SendSpec, comment_id: str | None) -> dict[str, Any]:
    value: dict[str, Any] = {"reply_mode": spec.reply_mode}
    for name in ("buttons", "quick_replies"):
        if getattr(content, name):
            value[name] = getattr(content, name)
    if content.template:
        value["template"] = content.template
    if content.reply_to:
        value["reply_to"] = content.reply_to
    if comment_id:
        value["comment_id"] = comment_id
    return value


def _request_hash(spec: SendSpec) -> str:
    """What a request asked for, so a reused Idempotency-Key with another request is refused."""
    content = spec.content
    asked = {
        "content": [content.text, content.attachments, content.buttons, content.quick_replies],
        "more": [content.template, content.reply_to, spec.reply_mode, spec.comment_id],
        "send_at": spec.send_at.isoformat() if spec.send_at else None,
    }
    encoded = json.dumps(asked, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def _existing_request(workspace_id: str, idempotency_key: str, body_hash: str) -> Message | None:
    try:
        request = SendRequest.get(*SendRequest.key(workspace_id, idempotency_key), consistent_read=True)
    except SendRequest.DoesNotExist:
        return None
    if request.body_hash and request.body_hash != body_hash:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for another request", {"header": "Idempotency-Key"}
        )
    return Message.get(Conversation.pk_for(workspace_id, request.conversation_id), request.message_sk)


def _private_reply_sent(workspace_id: str, comment_id: str) -> bool:
    try:
        PrivateReply.get(*PrivateReply.key(workspace_id, comment_id), consistent_read=True)
    except PrivateReply.DoesNotExist:
        return False
    return True


def comment_time(conversation: Conversation, account_id: str, comment_id: str) -> datetime | None:
    """When the comment was written, from its stored message (None: not in this conversation)."""
    pointer_id = message_id_for(conversation.platform, account_id, comment_id)
    try:
        pointer = MessagePointer.get(*MessagePointer.key(conversation.workspace_id, pointer_id))
        if pointer.conversation_id != conversation.conversation_id or not pointer.message_sk:
            return None
        return Message.get(conversation.pk, pointer.message_sk).sent_at
    except (MessagePointer.DoesNotExist, Message.DoesNotExist):
        return None
