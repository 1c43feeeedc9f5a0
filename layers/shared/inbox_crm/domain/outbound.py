"""Replies and scheduled sends: stored first, then sent through the Graph API inside Meta's policy.

A message is written as ``queued`` (or ``scheduled`` with a due time on gsi2) in the same transaction
as its idempotency key and, for a private reply, the comment's one-reply marker. Delivery claims it
(``queued``/``scheduled`` -> ``sending``, conditionally, so overlapping schedulers send once), applies
the policy at send time, calls Meta, and records ``sent`` with a pointer from each platform id (so
echoes and status webhooks find it) or ``failed`` with Meta's code and a reason for the agent.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from inbox_crm.channels.graph import GraphClient, GraphError
from inbox_crm.channels.meta_send import (
    MAX_ATTACHMENTS,
    MAX_BUTTONS,
    TEXT_LIMITS,
    OutboundContent,
    Request,
    comment_reply_request,
    explain,
    messenger_requests,
    platform_message_id,
    whatsapp_requests,
)
from inbox_crm.domain.ingest import STATUS_RANK, message_id_for, preview_of
from inbox_crm.domain.policy import Kind, Route, Sender, decide
from inbox_crm.errors import Conflict, InvalidInput, NotFound
from inbox_crm.events import DomainEvent
from inbox_crm.ids import new_id, stable_id
from inbox_crm.observability import logger
from inbox_crm.secrets import page_token
from inbox_crm.store.models import (
    Conversation,
    Identity,
    InboxItem,
    Message,
    MessagePointer,
    PrivateReply,
    SendRequest,
)
from inbox_crm.store.transactions import TransactionConflict, condition_failed, transaction
from inbox_crm.timeutil import to_millis, utcnow

DUE_SHARDS = 4
MAX_SEND_ATTEMPTS = 5
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


def due_shard(message_id: str) -> str:
    return f"DUE#{int(stable_id('s', message_id)[2:10], 36) % DUE_SHARDS}"


def _due_keys(message: Message, due: datetime) -> None:
    message.gsi2pk = due_shard(message.message_id)
    message.gsi2sk = f"{to_millis(due):013d}#{message.workspace_id}#{message.conversation_id}#{message.sk}"


# ------------------------------------------------------------------ compose


def _validate(conversation: Conversation, spec: SendSpec) -> Kind:
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
        sent_at = _comment_time(conversation, identity.account_id, spec.comment_id)
        if sent_at is None:
            raise NotFound("No such comment in this conversation")
        return spec.comment_id, sent_at
    latest = _latest_comment(conversation)
    if latest is None or not latest.platform_message_id:
        raise InvalidInput("There is no customer comment to answer", {"fields": ["comment_id"]})
    return latest.platform_message_id, latest.sent_at


def conversation_identity(conversation: Conversation) -> Identity:
    return Identity.get(*Identity.key(conversation.workspace_id, conversation.identity_id))


def compose(
    workspace_id: str, conversation_id: str, spec: SendSpec, author: Author, now: datetime | None = None
) -> Composed:
    now = now or utcnow()
    try:
        conversation = Conversation.get(
            *Conversation.key(workspace_id, conversation_id), consistent_read=True
        )
    except Conversation.DoesNotExist:
        raise NotFound("No such conversation") from None
    if spec.idempotency_key:
        existing = _existing_request(workspace_id, spec.idempotency_key)
        if existing is not None:
            return Composed(existing, created=False)
    identity = conversation_identity(conversation)
    if identity.blocked:
        raise Conflict("This contact is blocked", {"reason_code": "contact_blocked"})
    kind = _validate(conversation, spec)
    comment_id = None
    comment_at = None
    if spec.reply_mode != "message":
        comment_id, comment_at = _comment_context(conversation, identity, spec)
    scheduled = spec.send_at is not None and spec.send_at > now
    if spec.send_at is not None and spec.send_at > now + timedelta(days=365):
        raise InvalidInput("send_at must be within a year", {"fields": ["send_at"]})
    if not scheduled and spec.reply_mode != "public_reply":
        decision = decide(
            conversation.platform,
            conversation.last_inbound_at,
            author.kind,
            kind,
            now,
            comment_created_at=comment_at,
            private_reply_sent=_private_reply_sent(workspace_id, comment_id) if comment_id else False,
        )
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
        created_at=now,
    )
    if content.attachments:
        from inbox_crm.store.models import Attachment

        message.attachments = [Attachment(**attachment) for attachment in content.attachments]
    if scheduled and spec.send_at:
        _due_keys(message, spec.send_at)
    try:
        with transaction() as tx:
            tx.save(message, condition=Message.pk.does_not_exist())
            if spec.idempotency_key:
                request = SendRequest(
                    *SendRequest.key(workspace_id, spec.idempotency_key),
                    conversation_id=conversation_id,
                    message_id=message_id,
                    message_sk=message.sk,
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
            existing = _existing_request(workspace_id, spec.idempotency_key)
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


def _existing_request(workspace_id: str, idempotency_key: str) -> Message | None:
    try:
        request = SendRequest.get(*SendRequest.key(workspace_id, idempotency_key), consistent_read=True)
    except SendRequest.DoesNotExist:
        return None
    return Message.get(Conversation.pk_for(workspace_id, request.conversation_id), request.message_sk)


def _private_reply_sent(workspace_id: str, comment_id: str) -> bool:
    try:
        PrivateReply.get(*PrivateReply.key(workspace_id, comment_id), consistent_read=True)
    except PrivateReply.DoesNotExist:
        return False
    return True


# ------------------------------------------------------------------ deliver


def _content_of(message: Message) -> tuple[OutboundContent, str, str | None]:
    stored = message.content.as_dict() if message.content else {}
    attachments = [attachment.as_dict() for attachment in message.attachments or []]
    content = OutboundContent(
        text=message.text,
        attachments=attachments,
        buttons=stored.get("buttons") or [],
        quick_replies=stored.get("quick_replies") or [],
        template=stored.get("template"),
        reply_to=stored.get("reply_to"),
    )
    return content, stored.get("reply_mode", "message"), stored.get("comment_id")


def _claim(message: Message) -> bool:
    """queued/scheduled -> sending, once: overlapping schedulers or retried requests send once."""
    try:
        message.update(
            actions=[
                Message.status.set("sending"),
                Message.send_attempts.add(1),
                Message.gsi2pk.remove(),
                Message.gsi2sk.remove(),
            ],
            condition=Message.status.is_in("queued", "scheduled"),
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def deliver(
    message: Message,
    client: GraphClient | None = None,
    now: datetime | None = None,
    *,
    conversation: Conversation | None = None,
    identity: Identity | None = None,
) -> Message:
    """Send a claimable message now (a scheduled one re-reads its conversation: the window may have
    moved). Returns it as stored afterwards."""
    now = now or utcnow()
    if not _claim(message):
        return message
    if conversation is None:
        conversation = Conversation.get(*Conversation.key(message.workspace_id, message.conversation_id))
    if identity is None or identity.identity_id != conversation.identity_id:
        identity = conversation_identity(conversation)
    content, reply_mode, comment_id = _content_of(message)
    author = Sender(message.sender_kind or "human")
    kind = Kind.TEMPLATE if content.template else Kind.FREE_FORM
    if reply_mode == "private_reply":
        kind = Kind.PRIVATE_REPLY
    route = Route.STANDARD
    if reply_mode != "public_reply":
        comment_at = _comment_time(conversation, identity.account_id, comment_id) if comment_id else None
        decision = decide(
            conversation.platform,
            conversation.last_inbound_at,
            author,
            kind,
            now,
            comment_created_at=comment_at,
            private_reply_sent=False,  # the marker written at compose time is this very message's
        )
        if not decision.allowed:
            return _fail(
                message, decision.reason_code or "policy_refused", decision.reason or "Not allowed now"
            )
        route = decision.route
    requests = _requests(conversation, identity, content, route, reply_mode, comment_id, message.message_id)
    client = client or GraphClient.from_settings()
    token = page_token(identity.account_id)
    sent_ids: list[str] = []
    try:
        for request in requests:
            response = client.request(request.method, request.path, token, json=request.body)
            sent = platform_message_id(response)
            if sent:
                sent_ids.append(sent)
    except GraphError as error:
        if sent_ids:
            logger.warning("message partly sent", extra={"sent_parts": len(sent_ids), "code": error.code})
        elif error.retryable and message.send_at is not None:
            return _reschedule(message, error, now)
        reason_code, reason = explain(error.code, error.subcode, error.message)
        if not sent_ids:
            return _fail(message, reason_code, reason, meta_code=error.code, meta_subcode=error.subcode)
    return _mark_sent(message, conversation, identity, sent_ids, now)


def _comment_time(conversation: Conversation, account_id: str, comment_id: str) -> datetime | None:
    """When the comment was written, from its stored message (None: not in this conversation)."""
    pointer_id = message_id_for(conversation.platform, account_id, comment_id)
    try:
        pointer = MessagePointer.get(*MessagePointer.key(conversation.workspace_id, pointer_id))
        if pointer.conversation_id != conversation.conversation_id or not pointer.message_sk:
            return None
        return Message.get(conversation.pk, pointer.message_sk).sent_at
    except (MessagePointer.DoesNotExist, Message.DoesNotExist):
        return None


def _requests(
    conversation: Conversation,
    identity: Identity,
    content: OutboundContent,
    route: Route,
    reply_mode: str,
    comment_id: str | None,
    message_id: str,
) -> list[Request]:
    if reply_mode == "public_reply" and comment_id:
        return [comment_reply_request(comment_id, content.text or "")]
    if conversation.platform == "whatsapp":
        bsuid_only = not identity.external_id.isdigit()
        return whatsapp_requests(
            identity.account_id, identity.external_id, content, message_id, bsuid_only=bsuid_only
        )
    recipient = {"comment_id": comment_id} if reply_mode == "private_reply" else {"id": identity.external_id}
    return messenger_requests(identity.account_id, recipient, content, route, message_id)


def _fail(
    message: Message,
    reason_code: str,
    reason: str,
    *,
    meta_code: int | None = None,
    meta_subcode: int | None = None,
) -> Message:
    code = reason_code if meta_code is None else f"{reason_code}:{meta_code}/{meta_subcode or 0}"
    message.update(
        actions=[
            Message.status.set("failed"),
            Message.status_rank.set(STATUS_RANK["failed"]),
            Message.error_code.set(code),
            Message.error_reason.set(reason),
        ]
    )
    logger.info("send failed", extra={"reason_code": reason_code, "meta_code": meta_code})
    return message


def _reschedule(message: Message, error: GraphError, now: datetime) -> Message:
    attempts = int(message.send_attempts or 1)
    if attempts >= MAX_SEND_ATTEMPTS:
        reason_code, reason = explain(error.code, error.subcode, error.message)
        return _fail(message, reason_code, reason, meta_code=error.code, meta_subcode=error.subcode)
    due = now + timedelta(seconds=min(3600, 30 * 2 ** (attempts - 1)) * (0.75 + random.random() / 2))  # noqa: S311
    _due_keys(message, due)
    message.update(
        actions=[
            Message.status.set("scheduled"),
            Message.send_at.set(due),
            Message.gsi2pk.set(message.gsi2pk),
            Message.gsi2sk.set(message.gsi2sk),
        ]
    )
    logger.info("send rescheduled after a transient error", extra={"code": error.code, "attempt": attempts})
    return message


def _mark_sent(
    message: Message, conversation: Conversation, identity: Identity, sent_ids: list[str], now: datetime
) -> Message:
    early: list[dict[str, Any]] = []
    actions: list[Any] = [
        Message.status.set("sent"),
        Message.status_rank.set(STATUS_RANK["sent"]),
        Message.status_history.set([{"status": "sent", "at": to_millis(now)}]),
    ]
    if sent_ids:
        actions += [Message.platform_message_id.set(sent_ids[0]), Message.platform_message_ids.set(sent_ids)]
    message.update(actions=actions)
    for sent_id in sent_ids:
        pointer_id = message_id_for(conversation.platform, identity.account_id, sent_id)
        pointer = MessagePointer(
            *MessagePointer.key(message.workspace_id, pointer_id),
            message_id=message.message_id,
            conversation_id=message.conversation_id,
            message_sk=message.sk,
            state="stored",
            created_at=now,
        )
        try:
            pointer.save(condition=MessagePointer.pk.does_not_exist())
        except PutError as error:
            if not condition_failed(error):
                raise
            # A status webhook (or our echo) got here first.
            existing = MessagePointer.get(*MessagePointer.key(message.workspace_id, pointer_id))
            if existing.state == "status_first" and existing.early_status:
                early.append(existing.early_status.as_dict())
            pointer.save()
    for status in sorted(early, key=lambda item: STATUS_RANK.get(item.get("status", ""), 0)):
        _apply_early_status(message, status)
    return message


def _apply_early_status(message: Message, status: dict[str, Any]) -> None:
    rank = STATUS_RANK.get(status.get("status", ""), 0)
    if rank <= int(message.status_rank or 0):
        return
    actions: list[Any] = [
        Message.status.set(status["status"]),
        Message.status_rank.set(rank),
        Message.status_history.set([*(message.status_history or []), status]),
    ]
    if status["status"] == "failed":
        reason_code, reason = explain(status.get("error_code"), None, status.get("error_message"))
        actions += [
            Message.error_code.set(f"{reason_code}:{status.get('error_code')}"),
            Message.error_reason.set(reason),
        ]
    message.update(actions=actions)


def get_message(workspace_id: str, conversation_id: str, message_sk: str) -> Message:
    item = InboxItem.get(Conversation.pk_for(workspace_id, conversation_id), message_sk)
    if not isinstance(item, Message):
        raise NotFound("No such message")
    return item


# ------------------------------------------------------------------ due pickup (scheduler)


def due_messages(now: datetime, per_shard: int = 50) -> list[Message]:
    """What is due now, across shards: one Query per shard, never a Scan."""
    due: list[Message] = []
    upper = f"{to_millis(now):013d}#~"
    for shard in range(DUE_SHARDS):
        for item in Message.due_index.query(f"DUE#{shard}", Message.gsi2sk <= upper, limit=per_shard):
            if isinstance(item, Message):
                due.append(item)
    return due


def send_due(now: datetime | None = None, client: GraphClient | None = None) -> dict[str, int]:
    now = now or utcnow()
    counts = {"due": 0, "sent": 0, "failed": 0, "rescheduled": 0, "skipped": 0}
    for message in due_messages(now):
        counts["due"] += 1
        result = deliver(message, client=client, now=now)
        key = {"sent": "sent", "failed": "failed", "scheduled": "rescheduled"}.get(
            result.status or "", "skipped"
        )
        if result.status in ("delivered", "read"):
            key = "sent"
        counts[key] += 1
    return counts
