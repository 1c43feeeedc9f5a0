"""Delivering a stored message: claimed once, checked against Meta's policy at send time, POSTed.

Delivery claims it (``queued``/``scheduled`` -> ``sending``, conditionally, so overlapping schedulers
send once), applies the policy at send time, calls Meta, and settles the outcome: ``sent`` with a
pointer from each platform id (so echoes and status webhooks find it), ``failed`` with Meta's code and
a reason for the agent, queued again after a refusal that may be retried, or ``unknown`` when Meta
may have accepted it. ``plan`` and ``post`` hold the rules and reach Meta only through the ports.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from pynamodb.exceptions import UpdateError

from inbox_crm.core.errors import Conflict, NotFound
from inbox_crm.core.observability import logger
from inbox_crm.inbox.messages import STATUS_RANK
from inbox_crm.meta.graph import GraphError
from inbox_crm.meta.policy import Kind, Route, Sender
from inbox_crm.meta.send import (
    OutboundContent,
    Request,
    comment_reply_request,
    explain,
    messenger_requests,
    platform_message_id,
    whatsapp_requests,
)
from inbox_crm.outbound.compose import Author, comment_time, conversation_identity, window_decision
from inbox_crm.outbound.settle import mark_sent, mark_unknown, own_pointer
from inbox_crm.outbound.transitions import (
    LEASE,
    QUEUED_GRACE,
    UNCONFIRMED_FAILURE,
    done_actions,
    due_actions,
    due_sort_key,
    get_message,
    mine,
    reread,
    transition,
)
from inbox_crm.ports import Graph, ports
from inbox_crm.store.models import Conversation, Identity, InboxItem, Message
from inbox_crm.store.transactions import condition_failed

MAX_SEND_ATTEMPTS = 5


@dataclass(frozen=True)
class Refused:
    """The policy at send time refuses the message (the window closed while it waited)."""

    reason_code: str
    reason: str


@dataclass(frozen=True)
class Outcome:
    """What Meta's answers to one message's requests mean for it."""

    kind: Literal["sent", "unknown", "retry", "failed"]
    sent_ids: list[str] = field(default_factory=list)
    error: GraphError | None = None


def content_of(message: Message) -> tuple[OutboundContent, str, str | None]:
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


def claim(message: Message, now: datetime) -> bool:
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
                *due_actions(message, lease_until),
            ],
            condition=claimable,
        )
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def _release(message: Message) -> None:
    """Best effort, after an error before any POST: back to the queue at once (else the lease expires)."""
    due = ports().clock()
    try:
        transition(
            message,
            [
                Message.status.set("scheduled" if message.send_at else "queued"),
                Message.lease_until.remove(),
                Message.gsi2sk.set(due_sort_key(message, due)),
            ],
            mine(message) & (Message.status == "sending") & Message.post_started_at.does_not_exist(),
        )
    except Exception:  # the lease recovers it; the original error is what matters
        logger.warning("claim not released; the lease will expire", extra={"message_id": message.message_id})


def deliver(
    message: Message,
    client: Graph | None = None,
    now: datetime | None = None,
    *,
    conversation: Conversation | None = None,
    identity: Identity | None = None,
) -> Message:
    """Send a claimable message now (a scheduled one re-reads its conversation: the window may have
    moved). Returns it as stored afterwards: sent, failed, unknown, or queued again for a refusal
    that may be retried (rate limits, a connection that never opened)."""
    now = now or ports().clock()
    if not claim(message, now):
        return reread(message)
    try:
        prepared = prepare(message, now, conversation, identity)
    except Exception:
        _release(message)
        raise
    if isinstance(prepared, Message):
        return prepared
    requests, token, platform, account_id = prepared
    # From here a POST may reach Meta: an expired claim is no longer re-sent but becomes unknown.
    if not transition(
        message,
        [Message.post_started_at.set(now)],
        mine(message) & (Message.status == "sending"),
    ):
        return reread(message)
    outcome = post(requests, token, client or ports().graph())
    error = outcome.error
    if outcome.kind == "unknown":
        return mark_unknown(message, outcome.sent_ids, now, platform=platform, account_id=account_id)
    if outcome.kind == "retry" and error is not None:
        return _reschedule(message, error, now)
    if outcome.kind == "failed" and error is not None:
        reason_code, reason = explain(error.code, error.subcode, error.message)
        return _fail(message, reason_code, reason, meta_code=error.code, meta_subcode=error.subcode)
    if error is not None:
        logger.warning("message partly sent", extra={"sent_parts": len(outcome.sent_ids), "code": error.code})
    return mark_sent(message, platform, account_id, outcome.sent_ids, now)


def post(requests: list[Request], token: str | None, client: Graph) -> Outcome:
    """POST a message's requests in order; what Meta's answers (or their absence) mean for it."""
    sent_ids: list[str] = []
    try:
        for request in requests:
            response = client.request(request.method, request.path, token, json=request.body)
            sent = platform_message_id(response)
            if sent:
                sent_ids.append(sent)
    except GraphError as error:
        return Outcome(classify(error, sent_ids), sent_ids, error)
    return Outcome("sent", sent_ids)


def classify(error: GraphError, sent_ids: list[str]) -> Literal["sent", "unknown", "retry", "failed"]:
    """Meta may have accepted it: unknown (never re-sent automatically). A part already left: sent
    (what left is what the customer has). Provably refused for now: retry. Otherwise: failed."""
    if error.maybe_delivered:
        return "unknown"
    if sent_ids:
        return "sent"
    if error.retryable:
        return "retry"
    return "failed"


def prepare(
    message: Message, now: datetime, conversation: Conversation | None, identity: Identity | None
) -> Message | tuple[list[Request], str | None, str, str]:
    """Everything before the POST: the policy at send time, the requests and the token."""
    if conversation is None:
        conversation, identity = _recipient(message)
    if identity is None or identity.identity_id != conversation.identity_id:
        identity = conversation_identity(conversation)
    _, reply_mode, comment_id = content_of(message)
    comment_at = None
    if reply_mode != "public_reply" and comment_id:
        comment_at = comment_time(conversation, identity.account_id, comment_id)
    planned = plan(message, conversation, identity, now, comment_at)
    if isinstance(planned, Refused):
        return _fail(message, planned.reason_code, planned.reason)
    return planned, ports().tokens.page_token(identity.account_id), conversation.platform, identity.account_id


def _recipient(message: Message) -> tuple[Conversation, Identity | None]:
    """The conversation as it is now and, when the message names its identity, that identity too, in
    one BatchGetItem: a due send waits for one read round trip, not two in a row."""
    conversation_key = Conversation.key(message.workspace_id, message.conversation_id)
    if not message.identity_id:  # composed before messages named their identity
        return Conversation.get(*conversation_key), None
    identity_key = Identity.key(message.workspace_id, message.identity_id)
    found = {(item.pk, item.sk): item for item in InboxItem.batch_get([conversation_key, identity_key])}
    conversation, identity = found.get(conversation_key), found.get(identity_key)
    if not isinstance(conversation, Conversation):
        raise Conversation.DoesNotExist(f"no conversation {message.conversation_id}")
    return conversation, identity if isinstance(identity, Identity) else None


def plan(
    message: Message,
    conversation: Conversation,
    identity: Identity,
    now: datetime,
    comment_at: datetime | None = None,
) -> list[Request] | Refused:
    """The requests that send a stored message now, or the policy's refusal (no I/O)."""
    content, reply_mode, comment_id = content_of(message)
    author = Author(Sender(message.sender_kind or "human"), message.sender_id or "")
    kind = Kind.TEMPLATE if content.template else Kind.FREE_FORM
    if reply_mode == "private_reply":
        kind = Kind.PRIVATE_REPLY
    route = Route.STANDARD
    if reply_mode != "public_reply":
        # private_reply_sent: the marker written at compose time is this very message's
        decision = window_decision(conversation, author, kind, now, comment_at, private_reply_sent=False)
        if not decision.allowed:
            return Refused(decision.reason_code or "policy_refused", decision.reason or "Not allowed now")
        route = decision.route
    return _requests(conversation, identity, content, route, reply_mode, comment_id, message.message_id)


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
        *done_actions(),
    ]
    if not transition(message, actions, mine(message) & (Message.status == "sending")):
        return reread(message)
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
        *due_actions(message, due),
    ]
    if message.send_at:
        actions.append(Message.send_at.set(due))
    if not transition(message, actions, mine(message) & (Message.status == "sending")):
        return reread(message)
    logger.info("send rescheduled after a refusal", extra={"code": error.code, "attempt": attempts})
    return message


def retry_unknown(workspace_id: str, conversation_id: str, message_id: str) -> Message:
    """The agent's decision to send again a message whose outcome is unknown (it may arrive twice)."""
    pointer = own_pointer(workspace_id, message_id)
    if pointer is None or pointer.conversation_id != conversation_id or not pointer.message_sk:
        raise NotFound("No such message with an unknown outcome")
    message = get_message(workspace_id, conversation_id, pointer.message_sk)
    now = ports().clock()
    requeued = transition(
        message,
        [
            Message.status.set("queued"),
            Message.error_code.remove(),
            Message.error_reason.remove(),
            Message.post_started_at.remove(),
            *due_actions(message, now + QUEUED_GRACE),
        ],
        (Message.status == "unknown") | UNCONFIRMED_FAILURE,
    )
    if not requeued:
        raise Conflict(
            "Only a message with an unknown outcome can be retried", {"reason_code": "not_unknown"}
        )
    return deliver(message, now=now)
