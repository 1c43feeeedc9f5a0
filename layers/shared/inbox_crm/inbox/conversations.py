"""The inbox: conversations of a workspace and their messages, read through gsi1 and the
conversation's own partition (never a Scan)."""

from __future__ import annotations

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
    """Who changes a conversation and what caused it: an API request, or a flow run's step.

    The event's id derives from the cause, so a retried change commits the same event.
    """

    by: str  # a user id, or a flow id
    cause: str  # "api:<request id>" | "<run id>:<step path>"
    correlation_id: str | None = None
    caused_by_flow: str | None = None


def _event(
    workspace_id: str, name: str, conversation: Conversation, change: Change, **data: Any
) -> DomainEvent:
    return DomainEvent(
        name=name,
        workspace_id=workspace_id,
        cause=f"{conversation.conversation_id}:{name}:{change.cause}",
        data={
            "conversation_id": conversation.conversation_id,
            "channel": conversation.platform,
            "by": change.by,
            **data,
        },
        correlation_id=change.correlation_id,
        caused_by_flow=change.caused_by_flow,
    )


_STATUS_EVENTS = {"closed": "ConversationClosed", "open": "ConversationReopened"}


def _change_status(
    workspace_id: str, conversation_id: str, status: str, change: Change
) -> tuple[Conversation, bool]:
    """Open or close; False when it already was. The inbox index follows the status, and the event
    is committed with the change (the outbox)."""
    for _ in range(5):
        conversation = get_conversation(workspace_id, conversation_id)
        if conversation.status == status:
            return conversation, False
        previous = conversation.status
        conversation.status = status
        try:
            with transaction() as tx:
                tx.update(
                    conversation,
                    actions=[Conversation.status.set(status), *reindex_actions(conversation)],
                    condition=Conversation.status == previous,
                )
                stage(tx, [_event(workspace_id, _STATUS_EVENTS[status], conversation, change)])
        except TransactionConflict:
            continue  # changed meanwhile: read again
        return conversation, True
    raise Conflict("The conversation keeps changing; try again")


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
    with it."""
    if assignee_id is not None:
        try:
            User.get(*User.key(workspace_id, assignee_id))
        except User.DoesNotExist:
            raise InvalidInput("No such user in this workspace", {"fields": ["assignee_id"]}) from None
    conversation = get_conversation(workspace_id, conversation_id)
    action = (
        Conversation.assignee_id.remove()
        if assignee_id is None
        else Conversation.assignee_id.set(assignee_id)
    )
    event = _event(workspace_id, "ConversationAssigned", conversation, change, assignee_id=assignee_id)
    try:
        with transaction() as tx:
            tx.update(conversation, actions=[action], condition=Conversation.pk.exists())
            stage(tx, [event])
    except TransactionConflict:
        raise NotFound("No such conversation") from None
    conversation.assignee_id = assignee_id
    return conversation


def mark_read(workspace_id: str, conversation_id: str) -> Conversation:
    conversation = get_conversation(workspace_id, conversation_id)
    if conversation.unread_count:
        conversation.update(actions=[Conversation.unread_count.set(0)], condition=Conversation.pk.exists())
    return conversation
