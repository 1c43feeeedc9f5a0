"""One change of a contact, written as one transaction; the machinery every contact use case shares.

Every change is one TransactWriteItems: the contact (guarded by its version, so concurrent edits
never overwrite each other), the identities it links or unlinks (guarded by their current link, so
an identity never belongs to two contacts), and the search / lookup / listing entries derived from
the contact (contacts/index.py), and the change's domain events (the outbox, inbox_crm/events/outbox.py).
The conversations of a linked identity are updated right after (conversation_sync.py),
idempotently, because an identity may have more of them than a transaction may hold.

A caller that states the version it edited gets PreconditionFailed when it is stale. Changes the
server merges itself (links, tags, blocks) re-read and retry instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from pynamodb.exceptions import TransactWriteError
from pynamodb.expressions.condition import Condition

from inbox_crm.contacts.actors import Actor
from inbox_crm.contacts.index import changes, index_items
from inbox_crm.core.errors import Conflict, PreconditionFailed
from inbox_crm.core.timeutil import utcnow
from inbox_crm.events.outbox import DomainEvent, stage
from inbox_crm.store.models import Contact, Identity
from inbox_crm.store.transactions import TransactionConflict, transaction

_MAX_TRANSACTION_ITEMS = 100
MAX_ATTEMPTS = 4
_BOOKKEEPING = frozenset({"version", "updated_at", "updated_by"})

T = TypeVar("T")


class Stale(Exception):
    """The contact changed between our read and our write."""


class IdentityTaken(Exception):
    """The identity was linked (or unlinked) by someone else between our read and our write."""


def clone(contact: Contact) -> Contact:
    return Contact.from_raw_data(contact.serialize())


def changed_fields(before: Contact, after: Contact) -> list[str]:
    old, new = before.serialize(), after.serialize()
    return sorted(
        name for name in set(old) | set(new) if name not in _BOOKKEEPING and old.get(name) != new.get(name)
    )


# ------------------------------------------------------------------ writing


Announce = Callable[[Contact], list[DomainEvent]]  # the events of a change, given the contact as written


@dataclass(frozen=True)
class IdentityWrite:
    identity: Identity
    actions: list[Any]
    condition: Condition


def commit(
    before: Contact | None,
    after: Contact,
    actor: Actor,
    identities: Iterable[IdentityWrite] = (),
    announce: Announce | None = None,
) -> list[DomainEvent]:
    """One transaction: the contact (new, or at the version we read), identity links, index entries
    and the change's events (outbox items, so they get out whatever fails next). Returns the events."""
    identity_writes = list(identities)
    after.updated_at = utcnow()
    after.updated_by = actor.user_id
    index = changes(index_items(before) if before else {}, index_items(after))
    events: list[DomainEvent] = []
    if announce is not None:
        written = clone(after)
        written.version = (after.version or 0) + 1  # what the save below makes it
        events = announce(written)
    if 1 + len(identity_writes) + len(index) + len(events) > _MAX_TRANSACTION_ITEMS:
        raise Conflict("This change touches too many records at once; make it in smaller steps")
    try:
        with transaction() as tx:
            if before is None:
                tx.save(after, condition=Contact.pk.does_not_exist())
            else:
                tx.save(after)  # pynamodb adds "version is the one we read" and increments it
            for write in identity_writes:
                tx.update(write.identity, actions=write.actions, condition=write.condition)
            for item in index.puts:
                tx.save(item)
            for item in index.deletes:
                tx.delete(item)
            stage(tx, events)  # puts after the contact's: the positions below stay right
    except TransactionConflict as conflict:
        # pynamodb sends condition checks, then deletes, then puts, then updates (not call order):
        # the contact is the first put, after the index deletes; identity updates come last.
        if len(index.deletes) in conflict.failed:
            raise Stale from conflict
        raise IdentityTaken from conflict
    except TransactWriteError as error:
        # DynamoDB also cancels a transaction that raced another on the same item: read again.
        if any(reason and reason.code == "TransactionConflict" for reason in error.cancellation_reasons):
            raise Stale from error
        raise
    return events


def retrying(operation: Callable[[], T]) -> T:
    """Server-merged changes: on a concurrent write, read again and redo (a few times)."""
    for _ in range(MAX_ATTEMPTS - 1):
        try:
            return operation()
        except Stale:
            continue
    try:
        return operation()
    except Stale:
        raise Conflict("The contact is being changed by someone else; try again") from None


def contact_event(
    workspace_id: str, name: str, contact: Contact, actor: Actor, cause: str, **data: Any
) -> DomainEvent:
    return DomainEvent(
        name=name,
        workspace_id=workspace_id,
        data={"contact_id": contact.contact_id, "version": contact.version, "by": actor.user_id, **data},
        cause=cause,
        correlation_id=actor.correlation_id,
        caused_by_flow=actor.caused_by_flow,
    )


def after_events(events: list[DomainEvent]) -> None:
    """What follows committed contact events in this process: merge suggestions follow phones,
    emails and liveness. (The events themselves were committed with the change.)"""
    if not events:
        return
    from inbox_crm.identity.suggestions import after_contact_events

    after_contact_events(events)


def check_version(contact: Contact, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != contact.version:
        raise PreconditionFailed(
            "The contact was changed since you read it",
            {"current_version": contact.version, "your_version": expected_version},
        )
