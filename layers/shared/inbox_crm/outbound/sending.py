"""Replies and scheduled sends: stored first, then sent through the Graph API inside Meta's policy.

A message is written as ``queued`` (or ``scheduled`` with a due time on gsi2) in the same transaction
as its idempotency key and, for a private reply, the comment's one-reply marker. Delivery claims it
(``queued``/``scheduled`` -> ``sending``, conditionally, so overlapping schedulers send once), applies
the policy at send time, calls Meta, and records ``sent`` with a pointer from each platform id (so
echoes and status webhooks find it) or ``failed`` with Meta's code and a reason for the agent.
"""

from __future__ import annotations

import hashlib
import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from inbox_crm.core.errors import Conflict, IdempotencyKeyReused, InvalidInput, NotFound
from inbox_crm.core.ids import new_id, stable_id
from inbox_crm.core.observability import logger
from inbox_crm.core.secrets import page_token
from inbox_crm.core.settings import get_settings
from inbox_crm.core.timeutil import to_millis, utcnow
from inbox_crm.events.outbox import DomainEvent
from inbox_crm.inbox.messages import STATUS_RANK, message_id_for, preview_of
from inbox_crm.meta.graph import GraphClient, GraphError
from inbox_crm.meta.policy import Kind, Route, Sender, decide
from inbox_crm.meta.send import (
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
from inbox_crm.store.models import (
    Conversation,
    Identity,
    InboxItem,
    Message,
    MessagePointer,
    PrivateReply,
    SendRequest,
)
from inbox_crm.store.transactions import TransactionConflict, condition_failed, save_if_absent, transaction

DUE_SHARDS = 4
MAX_SEND_ATTEMPTS = 5
# A claim is held this long; the scheduler's sweeper (every minute) reclaims expired ones.
LEASE = timedelta(seconds=60)
# A queued message is on the due index too, so a crash between storing and claiming loses nothing.
QUEUED_GRACE = timedelta(seconds=30)
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


def _due_sort_key(message: Message, due: datetime) -> str:
    return f"{to_millis(due):013d}#{message.workspace_id}#{message.conversation_id}#{message.sk}"


def _due_keys(message: Message, due: datetime) -> None:
    message.gsi2pk = due_shard(message.message_id)
    message.gsi2sk = _due_sort_key(message, due)


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
    body_hash = _request_hash(spec)
    if spec.idempotency_key:
        existing = _existing_request(workspace_id, spec.idempotency_key, body_hash)
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
    _due_keys(message, spec.send_at if scheduled and spec.send_at else now + QUEUED_GRACE)
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


def _claim(message: Message, now: datetime) -> bool:
    """queued/scheduled -> sending under a lease, once: overlapping workers or retried requests send
    once. A claim whose lease expired before any POST was attempted may be taken again."""
    lease_until = now + LEASE
    claimable = Message.status.is_in("queued", "scheduled") | (
        (Message.status == "sending") & Message.post_started_at.does_not_exist() & (Message.lease_until < now)
    )
    try:
        message.update(
            actions=[
                Message.status.set("sending"),
                Message.send_attempts.add(1),
                Message.claim_id.set(uuid.uuid4().hex),
                Message.lease_until.set(lease_until),
                # Still on the due index, due when the lease expires: the sweeper finds it there.
                Message.gsi2pk.set(due_shard(message.message_id)),
                Message.gsi2sk.set(_due_sort_key(message, lease_until)),
            ],
            condition=claimable,
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _mine(message: Message) -> Any:
    return Message.claim_id == (message.claim_id or "")


def _settle(message: Message, actions: list[Any], condition: Any) -> bool:
    """A conditional transition of a claimed message; False when another holder or a webhook won."""
    try:
        message.update(actions=actions, condition=condition)
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _done_actions() -> list[Any]:
    """A settled message leaves the due index and drops its claim."""
    return [Message.gsi2pk.remove(), Message.gsi2sk.remove(), Message.lease_until.remove()]


def _release(message: Message) -> None:
    """Best effort, after an error before any POST: back to the queue at once (else the lease expires)."""
    due = utcnow()
    try:
        _settle(
            message,
            [
                Message.status.set("scheduled" if message.send_at else "queued"),
                Message.lease_until.remove(),
                Message.gsi2sk.set(_due_sort_key(message, due)),
            ],
            _mine(message) & (Message.status == "sending") & Message.post_started_at.does_not_exist(),
        )
    except Exception:  # the lease recovers it; the original error is what matters
        logger.warning("claim not released; the lease will expire", extra={"message_id": message.message_id})


def deliver(
    message: Message,
    client: GraphClient | None = None,
    now: datetime | None = None,
    *,
    conversation: Conversation | None = None,
    identity: Identity | None = None,
) -> Message:
    """Send a claimable message now (a scheduled one re-reads its conversation: the window may have
    moved). Returns it as stored afterwards: sent, failed, unknown, or queued again for a refusal
    that may be retried (rate limits, a connection that never opened)."""
    now = now or utcnow()
    if not _claim(message, now):
        return _reread(message)
    try:
        prepared = _prepare(message, now, conversation, identity)
    except Exception:
        _release(message)
        raise
    if isinstance(prepared, Message):
        return prepared
    requests, token, platform, account_id = prepared
    # From here a POST may reach Meta: an expired claim is no longer re-sent but becomes unknown.
    if not _settle(
        message,
        [Message.post_started_at.set(now)],
        _mine(message) & (Message.status == "sending"),
    ):
        return _reread(message)
    client = client or GraphClient.from_settings()
    sent_ids: list[str] = []
    try:
        for request in requests:
            response = client.request(request.method, request.path, token, json=request.body)
            sent = platform_message_id(response)
            if sent:
                sent_ids.append(sent)
    except GraphError as error:
        if error.maybe_delivered:
            return mark_unknown(message, sent_ids, now, platform=platform, account_id=account_id)
        if sent_ids:
            logger.warning("message partly sent", extra={"sent_parts": len(sent_ids), "code": error.code})
        elif error.retryable:
            return _reschedule(message, error, now)
        else:
            reason_code, reason = explain(error.code, error.subcode, error.message)
            return _fail(message, reason_code, reason, meta_code=error.code, meta_subcode=error.subcode)
    return _mark_sent(message, platform, account_id, sent_ids, now)


def _prepare(
    message: Message, now: datetime, conversation: Conversation | None, identity: Identity | None
) -> Message | tuple[list[Request], str | None, str, str]:
    """Everything before the POST: the policy at send time, the requests and the token."""
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
    return requests, page_token(identity.account_id), conversation.platform, identity.account_id


def _reread(message: Message) -> Message:
    try:
        return Message.get(message.pk, message.sk, consistent_read=True)
    except Message.DoesNotExist:
        return message


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
    actions = [
        Message.status.set("failed"),
        Message.status_rank.set(STATUS_RANK["failed"]),
        Message.error_code.set(code),
        Message.error_reason.set(reason),
        *_done_actions(),
    ]
    if not _settle(message, actions, _mine(message) & (Message.status == "sending")):
        return _reread(message)
    logger.info("send failed", extra={"reason_code": reason_code, "meta_code": meta_code})
    return message


def _reschedule(message: Message, error: GraphError, now: datetime) -> Message:
    """Meta provably refused (rate limit) or the connection never opened: try again later."""
    attempts = int(message.send_attempts or 1)
    if attempts >= MAX_SEND_ATTEMPTS:
        reason_code, reason = explain(error.code, error.subcode, error.message)
        return _fail(message, reason_code, reason, meta_code=error.code, meta_subcode=error.subcode)
    due = now + timedelta(seconds=min(3600, 30 * 2 ** (attempts - 1)) * (0.75 + random.random() / 2))  # noqa: S311
    actions = [
        Message.status.set("scheduled" if message.send_at else "queued"),
        Message.post_started_at.remove(),  # nothing left: a later expired claim is re-sent
        Message.lease_until.remove(),
        Message.gsi2pk.set(due_shard(message.message_id)),
        Message.gsi2sk.set(_due_sort_key(message, due)),
    ]
    if message.send_at:
        actions.append(Message.send_at.set(due))
    if not _settle(message, actions, _mine(message) & (Message.status == "sending")):
        return _reread(message)
    logger.info("send rescheduled after a refusal", extra={"code": error.code, "attempt": attempts})
    return message


def _sent_actions(sent_ids: list[str], now: datetime) -> list[Any]:
    actions: list[Any] = [
        Message.status.set("sent"),
        Message.status_rank.set(STATUS_RANK["sent"]),
        Message.status_history.set([{"status": "sent", "at": to_millis(now)}]),
        Message.error_code.remove(),
        Message.error_reason.remove(),
        *_done_actions(),
    ]
    if sent_ids:
        actions += [Message.platform_message_id.set(sent_ids[0]), Message.platform_message_ids.set(sent_ids)]
    return actions


def _mark_sent(
    message: Message, platform: str, account_id: str, sent_ids: list[str], now: datetime
) -> Message:
    # A webhook may have settled it already (sent): that is the same outcome.
    condition = _mine(message) & Message.status.is_in("sending", "unknown", "sent")
    if not _settle(message, _sent_actions(sent_ids, now), condition):
        return _reread(message)
    _write_pointers(message, platform, account_id, sent_ids, now)
    return message


def _pointer_to(message: Message, pointer_id: str, now: datetime) -> MessagePointer:
    return MessagePointer(
        *MessagePointer.key(message.workspace_id, pointer_id),
        message_id=message.message_id,
        conversation_id=message.conversation_id,
        message_sk=message.sk,
        state="stored",
        created_at=now,
    )


def _write_pointers(
    message: Message, platform: str, account_id: str, sent_ids: list[str], now: datetime
) -> None:
    """A pointer from each platform id to the message, so echoes and statuses find it."""
    early: list[dict[str, Any]] = []
    for sent_id in sent_ids:
        pointer_id = message_id_for(platform, account_id, sent_id)
        pointer = _pointer_to(message, pointer_id, now)
        if not save_if_absent(pointer):
            # A status webhook (or our echo) got here first.
            existing = MessagePointer.get(*MessagePointer.key(message.workspace_id, pointer_id))
            if existing.state == "status_first" and existing.early_status:
                early.append(existing.early_status.as_dict())
            pointer.save()
    for status in sorted(early, key=lambda item: STATUS_RANK.get(item.get("status", ""), 0)):
        _apply_early_status(message, status)


# ------------------------------------------------------------------ unknown outcomes


def _own_pointer(workspace_id: str, message_id: str) -> MessagePointer | None:
    try:
        return MessagePointer.get(
            *MessagePointer.key(workspace_id, f"ours:{message_id}"), consistent_read=True
        )
    except MessagePointer.DoesNotExist:
        return None


def mark_unknown(
    message: Message,
    sent_ids: list[str],
    now: datetime,
    *,
    platform: str | None = None,
    account_id: str | None = None,
) -> Message:
    """Meta may have accepted the message: never re-sent automatically. The echo (Messenger metadata)
    or a status (WhatsApp biz_opaque_callback_data) settles it; the agent may retry it."""
    pointer = _pointer_to(message, f"ours:{message.message_id}", now)
    early_id: str | None = None
    try:
        pointer.save(condition=MessagePointer.pk.does_not_exist() | (MessagePointer.state == "stored"))
    except PutError as error:
        if not condition_failed(error):
            raise
        existing = _own_pointer(message.workspace_id, message.message_id)
        early = existing.early_status.as_dict() if existing and existing.early_status else {}
        early_id = early.get("platform_message_id")
        pointer.save()
    if early_id:  # a status named this message before we recorded its outcome: it was sent
        if platform is None or account_id is None:
            conversation = Conversation.get(*Conversation.key(message.workspace_id, message.conversation_id))
            platform, account_id = conversation.platform, conversation_identity(conversation).account_id
        return _mark_sent(message, platform, account_id, [early_id], now)
    confirm_by = now + timedelta(seconds=get_settings().unconfirmed_after_seconds)
    actions: list[Any] = [
        Message.status.set("unknown"),
        Message.error_code.set("outcome_unknown"),
        Message.error_reason.set("Meta may or may not have received this message"),
        # Due again when the confirmation window closes: then it ends failed (expire_unconfirmed).
        Message.gsi2pk.set(due_shard(message.message_id)),
        Message.gsi2sk.set(_due_sort_key(message, confirm_by)),
        Message.lease_until.remove(),
    ]
    if sent_ids:
        actions += [Message.platform_message_id.set(sent_ids[0]), Message.platform_message_ids.set(sent_ids)]
    if not _settle(message, actions, _mine(message) & (Message.status == "sending")):
        return _reread(message)
    logger.warning("send outcome unknown", extra={"message_id": message.message_id})
    return message


def settle_seen(message: Message, platform: str, account_id: str, platform_message_id: str) -> Message:
    """Meta told us (echo or status) that a message whose outcome we did not learn was accepted."""
    condition = (
        Message.status.is_in("sending", "unknown") | _UNCONFIRMED_FAILURE
    ) & Message.post_started_at.exists()
    if _settle(message, _sent_actions([platform_message_id], utcnow()), condition):
        _write_pointers(message, platform, account_id, [platform_message_id], utcnow())
        logger.info("unknown outcome settled by Meta", extra={"message_id": message.message_id})
        return message
    return _reread(message)


def settle_by_callback(
    workspace_id: str, our_message_id: str, platform: str, account_id: str, platform_message_id: str
) -> Message | None:
    """A WhatsApp status names our message (biz_opaque_callback_data) by a wamid we never learnt."""
    pointer = _own_pointer(workspace_id, our_message_id)
    if pointer is None or pointer.state != "stored" or not pointer.message_sk:
        # Our send has not recorded its unknown outcome yet: leave the wamid for it.
        early = MessagePointer(
            *MessagePointer.key(workspace_id, f"ours:{our_message_id}"),
            message_id=our_message_id,
            state="status_first",
            early_status={"platform_message_id": platform_message_id},
            created_at=utcnow(),
        )
        save_if_absent(early)
        return None
    try:
        message = Message.get(
            Conversation.pk_for(workspace_id, pointer.conversation_id or ""), pointer.message_sk
        )
    except Message.DoesNotExist:
        return None
    if not awaits_confirmation(message):
        return None
    return settle_seen(message, platform, account_id, platform_message_id)


UNCONFIRMED = "delivery_unconfirmed"
_UNCONFIRMED_FAILURE = (Message.status == "failed") & (Message.error_code == UNCONFIRMED)


def awaits_confirmation(message: Message) -> bool:
    """Sent without an answer we kept: an echo or a status still settles it as sent, even after the
    confirmation window closed and it was reported failed."""
    if message.status in ("sending", "unknown"):
        return True
    return message.status == "failed" and message.error_code == UNCONFIRMED


def expire_unconfirmed(message: Message, now: datetime) -> Message:
    """Meta confirms every message it accepts (an echo, a status) within seconds; none came for this
    one within the window, so it most likely never arrived. It ends failed with that reason, for the
    agent to retry (never automatically); a late confirmation still turns it into sent."""
    due = f"{to_millis(now):013d}#~"
    expired = _settle(
        message,
        [
            Message.status.set("failed"),
            Message.error_code.set(UNCONFIRMED),
            Message.error_reason.set("Meta never confirmed this message"),
            *_done_actions(),
        ],
        (Message.status == "unknown") & (Message.gsi2sk <= due),
    )
    if not expired:
        return _reread(message)
    logger.warning("send outcome never confirmed", extra={"message_id": message.message_id})
    return _reread(message)


_SCHEDULED_WINDOW = 50  # scheduled messages sort last (their time is ahead): the newest 50 hold them


def cancel_scheduled(workspace_id: str, conversation_id: str, message_id: str) -> Message:
    """A scheduled message that has not left is never sent: the claim only takes scheduled ones."""
    partition = Conversation.pk_for(workspace_id, conversation_id)
    found = next(
        (
            item
            for item in Message.query(
                partition, Message.sk.startswith("MSG#"), scan_index_forward=False, limit=_SCHEDULED_WINDOW
            )
            if isinstance(item, Message) and item.message_id == message_id and item.direction == "outbound"
        ),
        None,
    )
    if found is None:
        raise NotFound("No such scheduled message")
    cancelled = _settle(
        found,
        [
            Message.status.set("cancelled"),
            Message.error_code.set("cancelled"),
            Message.error_reason.set("Cancelled before it was sent"),
            *_done_actions(),
        ],
        Message.status == "scheduled",
    )
    if not cancelled:
        raise Conflict("Only a scheduled message can be cancelled", {"reason_code": "not_scheduled"})
    return found


def retry_unknown(workspace_id: str, conversation_id: str, message_id: str) -> Message:
    """The agent's decision to send again a message whose outcome is unknown (it may arrive twice)."""
    pointer = _own_pointer(workspace_id, message_id)
    if pointer is None or pointer.conversation_id != conversation_id or not pointer.message_sk:
        raise NotFound("No such message with an unknown outcome")
    message = get_message(workspace_id, conversation_id, pointer.message_sk)
    now = utcnow()
    requeued = _settle(
        message,
        [
            Message.status.set("queued"),
            Message.error_code.remove(),
            Message.error_reason.remove(),
            Message.post_started_at.remove(),
            Message.gsi2pk.set(due_shard(message.message_id)),
            Message.gsi2sk.set(_due_sort_key(message, now + QUEUED_GRACE)),
        ],
        (Message.status == "unknown") | _UNCONFIRMED_FAILURE,
    )
    if not requeued:
        raise Conflict(
            "Only a message with an unknown outcome can be retried", {"reason_code": "not_unknown"}
        )
    return deliver(message, now=now)


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
    """What is due now, across shards: one Query per shard, never a Scan. Due means a scheduled or
    queued message whose time has come, or a claim whose lease expired."""
    due: list[Message] = []
    upper = f"{to_millis(now):013d}#~"
    for shard in range(DUE_SHARDS):
        for item in Message.due_index.query(f"DUE#{shard}", Message.gsi2sk <= upper, limit=per_shard):
            if isinstance(item, Message):
                due.append(item)
    return due


def process_due(message: Message, now: datetime, client: GraphClient | None = None) -> Message:
    """Send a due message, or sweep an expired claim: re-sent if no POST was attempted, else unknown."""
    if message.status == "sending":
        if message.lease_until is None or message.lease_until > now:
            return message  # its holder is still within its lease
        if message.post_started_at is not None:
            return mark_unknown(message, [], now)
    if message.status == "unknown":
        return expire_unconfirmed(message, now)
    if message.status not in ("queued", "scheduled", "sending"):
        return message
    return deliver(message, client=client, now=now)


def process_claimable(message: Message, now: datetime, client: GraphClient | None = None) -> Message:
    """process_due for a message known only by its keys: claimed first (the claim returns it), read
    only when the claim is refused, to sweep an expired claim whose POST may have left."""
    result = deliver(message, client=client, now=now)
    expired = result.status == "sending" and result.lease_until is not None and result.lease_until <= now
    if expired and result.post_started_at is not None:
        return mark_unknown(result, [], now)
    if result.status == "unknown":
        return expire_unconfirmed(result, now)
    return result


def send_due(now: datetime | None = None, client: GraphClient | None = None) -> dict[str, int]:
    now = now or utcnow()
    counts = {"due": 0, "sent": 0, "failed": 0, "rescheduled": 0, "unknown": 0, "skipped": 0}
    for message in due_messages(now):
        counts["due"] += 1
        result = process_due(message, now, client)
        key = {"sent": "sent", "failed": "failed", "scheduled": "rescheduled", "unknown": "unknown"}.get(
            result.status or "", "skipped"
        )
        if result.status in ("delivered", "read"):
            key = "sent"
        counts[key] += 1
    return counts
