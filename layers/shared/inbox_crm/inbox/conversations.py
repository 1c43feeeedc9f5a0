"""The inbox: conversations of a workspace and their messages, read through gsi1 and the
conversation's own partition (never a Scan)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pynamodb.expressions.condition import Condition

from inbox_crm.core.errors import Conflict, InvalidInput, NotFound
from inbox_crm.events.outbox import DomainEvent, stage
from inbox_crm.inbox.index import reindex_actions
from inbox_crm.store.cursor import decode_cursor, encode_cursor
from inbox_crm.store.models import Conversation, Message, User
from inbox_crm.store.transactions import TransactionConflict, transaction

# A filtered inbox page reads at most this many index pages before answering with a cursor.
_MAX_INDEX_READS = 5


@dataclass(frozen=True)
class InboxFilter:
    status: str = "open"
    channel: str | None = None
    registered: bool | None = None
    assignee: str | None = None  # a user id, or "none" for unassigned


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None


def _filter_condition(criteria: InboxFilter) -> Condition | None:
    condition: Condition | None = None

    def both(extra: Condition) -> None:
        nonlocal condition
        condition = extra if condition is None else condition & extra

    if criteria.channel:
        both(Conversation.platform == criteria.channel)
    if criteria.registered is True:
        both(Conversation.contact_id.exists())
    elif criteria.registered is False:
        both(Conversation.contact_id.does_not_exist())
    if criteria.assignee == "none":
        both(Conversation.assignee_id.does_not_exist())
    elif criteria.assignee:
        both(Conversation.assignee_id == criteria.assignee)
    return condition


def list_conversations(workspace_id: str, criteria: InboxFilter, limit: int, cursor: str | None) -> Page:
    """Newest activity first. Filters narrow one status partition of the inbox index; a sparse
    filter reads at most a few index pages and answers with a cursor to go on from."""
    partition = Conversation.inbox_pk(workspace_id, criteria.status)
    start_key = decode_cursor(cursor, partition_attribute="gsi1pk", partition_value=partition)
    pages = Conversation.inbox_index.query(
        partition,
        scan_index_forward=False,
        page_size=limit,
        filter_condition=_filter_condition(criteria),
        last_evaluated_key=start_key,
    ).page_iter
    items: list[Conversation] = []
    next_key = start_key
    for _ in range(_MAX_INDEX_READS):
        try:
            page = next(pages)
        except StopIteration:
            next_key = None
            break
        items.extend(Conversation.from_raw_data(raw) for raw in page.get("Items", []))
        next_key = pages.last_evaluated_key
        if len(items) >= limit or next_key is None:
            break
    if len(items) > limit or (len(items) == limit and next_key is not None):
        items = items[:limit]
        last = items[-1]
        next_key = {
            "pk": {"S": last.pk},
            "sk": {"S": last.sk},
            "gsi1pk": {"S": last.gsi1pk or ""},
            "gsi1sk": {"S": last.gsi1sk or ""},
        }
    return Page(items=items, next_cursor=encode_cursor(next_key))


def get_conversation(workspace_id: str, conversation_id: str) -> Conversation:
    try:
        return Conversation.get(*Conversation.key(workspace_id, conversation_id), consistent_read=True)
    except Conversation.DoesNotExist:
        raise NotFound("No such conversation") from None


def list_messages(
    workspace_id: str, conversation_id: str, limit: int, cursor: str | None
) -> tuple[Conversation, Page]:
    """The newest messages first in the partition; returned oldest→newest; the cursor pages older."""
    conversation = get_conversation(workspace_id, conversation_id)
    partition = Conversation.pk_for(workspace_id, conversation_id)
    start_key = decode_cursor(cursor, partition_attribute="pk", partition_value=partition)
    results = Message.query(
        partition,
        Message.sk.startswith("MSG#"),
        scan_index_forward=False,
        limit=limit,
        last_evaluated_key=start_key,
        consistent_read=True,
    )
    items = [message for message in results if isinstance(message, Message)]
    items.reverse()
    return conversation, Page(items=items, next_cursor=encode_cursor(results.last_evaluated_key))


# ------------------------------------------------------------------ agents' actions


@dataclass(frozen=True)
class Change:
    """Who changes a conversation: an agent (an API request) or a flow run's step.

    Who asks is not the cause of the events: their ids derive from the change itself (the
    conversation's revision), so a retried request or step announces nothing new.
    """

    by: str  # a user id, or a flow id
    correlation_id: str | None = None
    caused_by_flow: str | None = None


def _event(
    workspace_id: str, name: str, conversation: Conversation, revision: int, change: Change, **data: Any
) -> DomainEvent:
    return DomainEvent(
        name=name,
        workspace_id=workspace_id,
        cause=f"{conversation.conversation_id}:{revision}",
        data={
            "conversation_id": conversation.conversation_id,
            "channel": conversation.platform,
            "by": change.by,
            **data,
        },
        correlation_id=change.correlation_id,
        caused_by_flow=change.caused_by_flow,
    )


def _at_revision(conversation: Conversation) -> Condition:
    """Nobody changed it since it was read (an item from before revisions has none)."""
    if conversation.revision:
        return Conversation.revision == conversation.revision
    return Conversation.revision.does_not_exist() | (Conversation.revision == 0)


# what a change writes: update actions, the condition they hold under, and the event announcing it
_Planned = tuple[list[Any], Condition, DomainEvent]


def _revise(
    workspace_id: str,
    conversation_id: str,
    revise: Callable[[Conversation, int], _Planned | None],
) -> tuple[Conversation, bool]:
    """Apply one change at the conversation's next revision, committed with its event (the outbox).
    ``revise`` says what to write, or None when the conversation is already as asked (nothing new
    happens, nothing is announced). A concurrent change makes it read again."""
    for _ in range(5):
        conversation = get_conversation(workspace_id, conversation_id)
        revision = int(conversation.revision or 0) + 1
        planned = revise(conversation, revision)
        if planned is None:
            return conversation, False
        actions, condition, event = planned
        try:
            with transaction() as tx:
                tx.update(
                    conversation,
                    actions=[*actions, Conversation.revision.set(revision)],
                    condition=condition & _at_revision(conversation),
                )
                stage(tx, [event])
        except TransactionConflict:
            continue  # changed meanwhile: read again
        conversation.revision = revision
        return conversation, True
    raise Conflict("The conversation keeps changing; try again")


_STATUS_EVENTS = {"closed": "ConversationClosed", "open": "ConversationReopened"}


def _change_status(
    workspace_id: str, conversation_id: str, status: str, change: Change
) -> tuple[Conversation, bool]:
    """Open or close; False when it already was. The inbox index follows the status."""

    def revise(conversation: Conversation, revision: int) -> _Planned | None:
        if conversation.status == status:
            return None
        previous = conversation.status
        event = _event(workspace_id, _STATUS_EVENTS[status], conversation, revision, change)
        conversation.status = status
        actions = [Conversation.status.set(status), *reindex_actions(conversation)]
        return actions, Conversation.status == previous, event

    return _revise(workspace_id, conversation_id, revise)


def close_conversation(workspace_id: str, conversation_id: str, change: Change) -> tuple[Conversation, bool]:
    return _change_status(workspace_id, conversation_id, "closed", change)


def reopen_conversation(workspace_id: str, conversation_id: str, change: Change) -> tuple[Conversation, bool]:
    conversation = get_conversation(workspace_id, conversation_id)
    if conversation.hidden:
        raise Conflict("The contact is blocked: unblock it first", {"reason_code": "contact_blocked"})
    return _change_status(workspace_id, conversation_id, "open", change)


def assign_conversation(
    workspace_id: str, conversation_id: str, assignee_id: str | None, change: Change
) -> Conversation:
    """Assign to a member of the workspace, or unassign with None; ConversationAssigned is committed
    with it (not when it already was)."""
    if assignee_id is not None:
        try:
            User.get(*User.key(workspace_id, assignee_id))
        except User.DoesNotExist:
            raise InvalidInput("No such user in this workspace", {"fields": ["assignee_id"]}) from None

    def revise(conversation: Conversation, revision: int) -> _Planned | None:
        if conversation.assignee_id == assignee_id:
            return None
        event = _event(
            workspace_id, "ConversationAssigned", conversation, revision, change, assignee_id=assignee_id
        )
        action = (
            Conversation.assignee_id.remove()
            if assignee_id is None
            else Conversation.assignee_id.set(assignee_id)
        )
        conversation.assignee_id = assignee_id
        return [action], Conversation.pk.exists(), event

    conversation, _ = _revise(workspace_id, conversation_id, revise)
    return conversation


def mark_read(workspace_id: str, conversation_id: str) -> Conversation:
    conversation = get_conversation(workspace_id, conversation_id)
    if conversation.unread_count:
        conversation.update(actions=[Conversation.unread_count.set(0)], condition=Conversation.pk.exists())
    return conversation
