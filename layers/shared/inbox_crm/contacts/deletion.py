"""Deleting a contact: a soft delete that keeps the audit record and frees its channel identities."""

from __future__ import annotations

from inbox_crm.contacts.actors import Actor
from inbox_crm.contacts.commit import (
    IdentityTaken,
    Stale,
    after_events,
    check_version,
    clone,
    commit,
    contact_event,
    retrying,
)
from inbox_crm.contacts.conversation_sync import set_conversations_contact
from inbox_crm.contacts.linking import unlink_write
from inbox_crm.contacts.reads import get_contact
from inbox_crm.core.errors import Conflict
from inbox_crm.core.timeutil import utcnow
from inbox_crm.events.outbox import DomainEvent
from inbox_crm.store.models import Contact


def delete_contact(
    workspace_id: str, contact_id: str, actor: Actor, expected_version: int | None = None
) -> Contact:
    """Soft delete: the contact item stays as the audit record (who, when, what it held); its index
    entries go, and its identities are unlinked but kept, with their conversations."""

    def announce(written: Contact) -> list[DomainEvent]:
        return [contact_event(workspace_id, "ContactDeleted", written, actor, f"{contact_id}:deleted")]

    def attempt() -> tuple[Contact, list[DomainEvent]]:
        before = get_contact(workspace_id, contact_id)
        check_version(before, expected_version)
        if before.blocked:
            raise Conflict("Unblock the contact before deleting it", {"contact_id": contact_id})
        after = clone(before)
        after.deleted = True
        after.deleted_at = utcnow()
        after.deleted_by = actor.user_id
        try:
            events = commit(
                before,
                after,
                actor,
                [unlink_write(workspace_id, ref.identity_id, contact_id) for ref in before.identities or []],
                announce,
            )
        except IdentityTaken:
            raise Stale from None  # an identity was unlinked meanwhile: read again
        return after, events

    contact, events = retrying(attempt)
    for ref in contact.identities or []:
        set_conversations_contact(workspace_id, ref.identity_id, None, previous=contact_id)
    after_events(events)
    return contact
