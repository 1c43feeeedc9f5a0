"""A stored outbound message's state: its place on the due index and its conditional transitions.

A message waits on gsi2 (sharded ``DUE#n``, sorted by due time) while anything remains to be done
with it: queued or scheduled to be sent, claimed under a lease, or awaiting Meta's confirmation.
Every change of state is conditional, so overlapping workers and webhooks settle it once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import UpdateError

from inbox_crm.core.errors import NotFound
from inbox_crm.core.ids import stable_id
from inbox_crm.core.timeutil import to_millis
from inbox_crm.store.models import Conversation, InboxItem, Message
from inbox_crm.store.transactions import condition_failed

DUE_SHARDS = 4
# A claim is held this long; the scheduler's sweeper (every minute) reclaims expired ones.
LEASE = timedelta(seconds=60)
# A queued message is on the due index too, so a crash between storing and claiming loses nothing.
QUEUED_GRACE = timedelta(seconds=30)

UNCONFIRMED = "delivery_unconfirmed"
UNCONFIRMED_FAILURE = (Message.status == "failed") & (Message.error_code == UNCONFIRMED)


def due_shard(message_id: str) -> str:
    return f"DUE#{int(stable_id('s', message_id)[2:10], 36) % DUE_SHARDS}"


def due_sort_key(message: Message, due: datetime) -> str:
    return f"{to_millis(due):013d}#{message.workspace_id}#{message.conversation_id}#{message.sk}"


def set_due(message: Message, due: datetime) -> None:
    message.gsi2pk = due_shard(message.message_id)
    message.gsi2sk = due_sort_key(message, due)


def due_actions(message: Message, due: datetime) -> list[Any]:
    """The update that puts a stored message on the due index at ``due``."""
    return [Message.gsi2pk.set(due_shard(message.message_id)), Message.gsi2sk.set(due_sort_key(message, due))]


def done_actions() -> list[Any]:
    """A settled message leaves the due index and drops its claim."""
    return [Message.gsi2pk.remove(), Message.gsi2sk.remove(), Message.lease_until.remove()]


def mine(message: Message) -> Any:
    """The condition that the claim read with ``message`` still holds it."""
    return Message.claim_id == (message.claim_id or "")


def transition(message: Message, actions: list[Any], condition: Any) -> bool:
    """A conditional transition of a claimed message; False when another holder or a webhook won."""
    try:
        message.update(actions=actions, condition=condition)
    except UpdateError as error:
        if condition_failed(error):
            return False
        raise
    return True


def reread(message: Message) -> Message:
    try:
        return Message.get(message.pk, message.sk, consistent_read=True)
    except Message.DoesNotExist:
        return message


def get_message(workspace_id: str, conversation_id: str, message_sk: str) -> Message:
    item = InboxItem.get(Conversation.pk_for(workspace_id, conversation_id), message_sk)
    if not isinstance(item, Message):
        raise NotFound("No such message")
    return item


def awaits_confirmation(message: Message) -> bool:
    """Sent without an answer we kept: an echo or a status still settles it as sent, even after the
    confirmation window closed and it was reported failed."""
    if message.status in ("sending", "unknown"):
        return True
    return message.status == "failed" and message.error_code == UNCONFIRMED
