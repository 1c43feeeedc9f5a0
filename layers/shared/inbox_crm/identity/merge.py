"""Merging two contacts (docs/MERGE.md); the journal and the transaction undo (merge_undo.py) shares.

A merge is a soft merge with a journal. ONE TransactWriteItems holds: the survivor (at the version
read: its merged values), the absorbed contact (at the version read: ``merged_into``), the Merge
record (the history item and the journal: both contacts' complete previous items, the survivor it
wrote, the identities moved and their conversations), each moved identity (condition: still the
absorbed contact's), and every index entry that changes (the survivor's difference, all of the
absorbed contact's removed). A concurrent edit, link, block or merge of either contact makes it write
nothing; it is re-read and re-decided. The conversations' denormalised ``contact_id`` follows in
idempotent updates (status ``moving`` until done); a repeated request or an undo completes a merge
left ``moving``.

What the survivor keeps and when a merge is refused: merge_plan.py. Undo: merge_undo.py.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError

from inbox_crm.contacts.actors import Actor
from inbox_crm.contacts.commit import after_events, clone, contact_event
from inbox_crm.contacts.conversation_sync import conversation_ids_of
from inbox_crm.contacts.index import IndexChanges, changes, index_items
from inbox_crm.contacts.values import looks_like_id
from inbox_crm.core.errors import Conflict, NotFound
from inbox_crm.core.ids import new_id
from inbox_crm.core.observability import logger
from inbox_crm.core.timeutil import utcnow
from inbox_crm.events.outbox import DomainEvent, stage
from inbox_crm.identity import suggestions
from inbox_crm.identity.merge_plan import check_mergeable, merged_values, validate_choices
from inbox_crm.store.cursor import decode_cursor, encode_cursor
from inbox_crm.store.models import Contact, Conversation, Identity, Merge
from inbox_crm.store.transactions import TransactionConflict, condition_failed, transaction

_MAX_TRANSACTION_ITEMS = 100
_ATTEMPTS = 4


@dataclass(frozen=True)
class MergeResult:
    merge: Merge
    survivor: Contact


class Retry(Exception):
    pass


def get_merge(workspace_id: str, merge_id: str) -> Merge:
    if not looks_like_id(merge_id):
        raise NotFound("No such merge")
    try:
        return Merge.get(*Merge.key(workspace_id, merge_id), consistent_read=True)
    except Merge.DoesNotExist:
        raise NotFound("No such merge") from None


def list_merges(workspace_id: str, limit: int, cursor: str | None) -> tuple[list[Merge], str | None]:
    """The history, newest first: one Query (merge ids are time-ordered)."""
    partition = Merge.partition(workspace_id)
    start = decode_cursor(cursor, partition_attribute="pk", partition_value=partition)
    result = Merge.query(
        partition,
        Merge.sk.startswith("MERGE#"),
        scan_index_forward=False,
        consistent_read=True,
        limit=limit,
        page_size=limit,
        last_evaluated_key=start,
    )
    items = [item for item in result if isinstance(item, Merge)]
    return items, encode_cursor(result.last_evaluated_key)


def read_contact(workspace_id: str, contact_id: str) -> Contact:
    if not looks_like_id(contact_id):
        raise NotFound("No such contact", {"contact_id": contact_id})
    try:
        return Contact.get(*Contact.key(workspace_id, contact_id), consistent_read=True)
    except Contact.DoesNotExist:
        raise NotFound("No such contact", {"contact_id": contact_id}) from None


def dump_contact(contact: Contact) -> str:
    return json.dumps(contact.serialize(), sort_keys=True)


def load_contact(raw: str) -> Contact:
    return Contact.from_raw_data(json.loads(raw))


def merge_contacts(
    workspace_id: str,
    survivor_id: str,
    other_id: str,
    actor: Actor,
    fields: dict[str, str] | None = None,
    suggestion_id: str | None = None,
) -> MergeResult:
    """Merge other_id into survivor_id. Safe under concurrent edits and merges of either contact."""
    if survivor_id == other_id:
        raise Conflict("A contact cannot be merged with itself", {"contact_id": survivor_id})
    choices = validate_choices(fields)
    for _ in range(_ATTEMPTS):
        survivor, other = read_contact(workspace_id, survivor_id), read_contact(workspace_id, other_id)
        if other.merged_into == survivor_id and other.merge_id:
            merge = get_merge(workspace_id, other.merge_id)
            if merge.status == "moving":  # a crashed or concurrent identical request: complete it
                finish_merge(merge)
                return MergeResult(merge, read_contact(workspace_id, survivor_id))
        after = merged_values(survivor, other, choices)
        check_mergeable(survivor, other, after)
        try:
            merge = _commit_merge(workspace_id, survivor, other, after, choices, actor, suggestion_id)
        except Retry:
            continue
        break
    else:
        raise Conflict("The contacts are being changed by someone else; try again")
    event = _merged_event(merge, after, actor)
    finish_merge(merge, event)
    refresh_suggestions(workspace_id, [survivor_id, other_id])
    after_events([event])
    return MergeResult(merge, after)


def _merged_event(merge: Merge, survivor: Contact, actor: Actor) -> DomainEvent:
    data = {
        "merge_id": merge.merge_id,
        "survivor_id": merge.survivor_id,
        "absorbed_id": merge.absorbed_id,
        "identity_ids": list(merge.identity_ids or []),
        "conversation_ids": list(merge.conversation_ids or []),
    }
    return contact_event(
        merge.workspace_id, "ContactsMerged", survivor, actor, f"{merge.merge_id}:merged", **data
    )


def _commit_merge(
    workspace_id: str,
    survivor: Contact,
    other: Contact,
    after: Contact,
    choices: dict[str, str],
    actor: Actor,
    suggestion_id: str | None,
) -> Merge:
    now = utcnow()
    merge_id = new_id("mrg")
    absorbed = clone(other)
    absorbed.merged_into = survivor.contact_id
    absorbed.merge_id = merge_id
    for contact in (after, absorbed):
        contact.updated_at = now
        contact.updated_by = actor.user_id
    identity_ids = [ref.identity_id for ref in other.identities or []]
    conversation_ids = [
        cid for identity_id in identity_ids for cid in conversation_ids_of(workspace_id, identity_id)
    ]
    merge = Merge(
        *Merge.key(workspace_id, merge_id),
        workspace_id=workspace_id,
        merge_id=merge_id,
        survivor_id=survivor.contact_id,
        absorbed_id=other.contact_id,
        status="moving",
        by=actor.user_id,
        suggestion_id=suggestion_id,
        fields=choices or None,
        survivor_before=dump_contact(survivor),
        absorbed_before=dump_contact(other),
        survivor_version=int(survivor.version) + 1,
        absorbed_version=int(other.version) + 1,
        identity_ids=identity_ids or None,
        conversation_ids=conversation_ids or None,
        created_at=now,
    )
    snapshot = clone(after)
    snapshot.version = merge.survivor_version
    merge.survivor_after = dump_contact(snapshot)
    index = index_changes([(index_items(survivor), index_items(after)), (index_items(other), {})])
    moves = [
        (
            identity_id,
            [Identity.contact_id.set(survivor.contact_id), Identity.blocked.set(False)],
            other.contact_id,
        )
        for identity_id in identity_ids
    ]
    write_merge(workspace_id, [after, absorbed], merge, None, moves, index)
    return merge


def index_changes(pairs: list[tuple[dict[Any, Any], dict[Any, Any]]]) -> IndexChanges:
    puts, deletes = [], []
    for before, after in pairs:
        change = changes(before, after)
        puts += change.puts
        deletes += change.deletes
    return IndexChanges(puts=puts, deletes=deletes)


def write_merge(
    workspace_id: str,
    contacts: list[Contact],
    new_merge: Merge | None,
    merge_update: Any,
    moves: list[tuple[str, list[Any], str]],
    index: IndexChanges,
    events: list[DomainEvent] | None = None,
) -> None:
    total = len(contacts) + 1 + len(moves) + len(index) + len(events or [])
    if total > _MAX_TRANSACTION_ITEMS:
        raise Conflict(
            "These contacts have too many search entries to change in one step; remove some values first",
            {"items": total, "max": _MAX_TRANSACTION_ITEMS},
        )
    try:
        with transaction() as tx:
            for contact in contacts:
                tx.save(contact)  # pynamodb: version is the one we read, then incremented
            if new_merge is not None:
                tx.save(new_merge, condition=Merge.pk.does_not_exist())
            if merge_update is not None:
                merge, actions, condition = merge_update
                tx.update(merge, actions=actions, condition=condition)
            for identity_id, actions, holder in moves:
                identity = Identity(*Identity.key(workspace_id, identity_id))
                tx.update(identity, actions=actions, condition=Identity.contact_id == holder)
            for item in index.puts:
                tx.save(item)
            for item in index.deletes:
                tx.delete(item)
            stage(tx, events or [])
    except TransactionConflict as conflict:
        raise Retry from conflict
    except TransactWriteError as error:
        if any(
            reason and reason.code == "TransactionConflict" for reason in error.cancellation_reasons or []
        ):
            raise Retry from error
        raise


def move_conversations(workspace_id: str, identity_ids: list[str], contact_id: str) -> list[str]:
    """Every conversation of the identities (also ones opened since) shows the contact. Idempotent."""
    moved = []
    for identity_id in identity_ids:
        for conversation_id in conversation_ids_of(workspace_id, identity_id):
            conversation = Conversation(*Conversation.key(workspace_id, conversation_id))
            try:
                conversation.update(
                    actions=[Conversation.contact_id.set(contact_id)], condition=Conversation.pk.exists()
                )
            except UpdateError as error:
                if not condition_failed(error):
                    raise
            moved.append(conversation_id)
    return moved


def finish_merge(merge: Merge, event: DomainEvent | None = None) -> None:
    """Moving -> done, committing ContactsMerged with it (the outbox): a merge completed after a crash
    announces itself too, from what its journal recorded."""
    move_conversations(merge.workspace_id, list(merge.identity_ids or []), merge.survivor_id)
    if event is None:
        survivor = load_contact(merge.survivor_after)
        survivor.version = merge.survivor_version
        event = _merged_event(merge, survivor, Actor(merge.by))
    try:
        with transaction() as tx:
            tx.update(merge, actions=[Merge.status.set("done")], condition=Merge.status == "moving")
            stage(tx, [event])
    except TransactionConflict:
        pass  # finished by someone else, with its event
    merge.status = "done"


def refresh_suggestions(workspace_id: str, contact_ids: list[str]) -> None:
    for contact_id in contact_ids:
        try:
            suggestions.refresh_contact(workspace_id, contact_id)
        except PynamoDBException:
            logger.exception("merge suggestions not refreshed", extra={"contact_id": contact_id})
