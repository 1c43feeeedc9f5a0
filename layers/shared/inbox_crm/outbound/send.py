"""Sending a message: the one compose -> deliver sequence behind agents, flows and broadcasts.

Composed first (checked and stored, with its idempotency key), then delivered at once unless it is
scheduled. A retried call with the same idempotency key answers with the message as stored, and
delivers it only if the first attempt stopped before claiming it (still ``queued``): a message is
never sent twice by a retry. Who sends (an agent, a flow, a broadcast) is the ``author``; what
differs between them is in the ``spec`` (idempotency key, reply mode, send time).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from inbox_crm.outbound.compose import Author, SendSpec, compose
from inbox_crm.outbound.delivery import deliver
from inbox_crm.ports import Graph
from inbox_crm.store.models import Message


@dataclass(frozen=True)
class Sent:
    message: Message  # as stored after the attempt: sent, failed, unknown, queued or scheduled
    created: bool  # False: the idempotency key had been seen, this is the earlier request's message


def send_message(
    workspace_id: str,
    conversation_id: str,
    spec: SendSpec,
    author: Author,
    *,
    client: Graph | None = None,
    now: datetime | None = None,
) -> Sent:
    composed = compose(workspace_id, conversation_id, spec, author, now=now)
    message = composed.message
    if message.status == "queued":  # new, or a first attempt that stopped before claiming it
        message = deliver(
            message, client, now, conversation=composed.conversation, identity=composed.identity
        )
    return Sent(message, composed.created)
