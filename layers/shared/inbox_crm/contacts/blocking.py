"""Blocking and unblocking a contact: its identities carry the flag (ingestion reads it there) and
its conversations leave the inbox, or come back to it."""

from __future__ import annotations

from inbox_crm.contacts.actors import Actor
from inbox_crm.contacts.commit import (
    IdentityTaken,
    IdentityWrite,
    Stale,
    after_events,
    clone,
    commit,
    contact_event,
    retrying,
)
from inbox_crm.contacts.conversation_sync import conversation_ids_of, hide_conversations, show_conversations
from inbox_crm.contacts.reads import get_contact
from inbox_crm.core.timeutil import utcnow
from inbox_crm.events.outbox import DomainEvent
from inbox_crm.store.models import Contact, Identity


def block_contact(workspace_id: str, contact_id: str, actor: Actor) -> Contact:
    """Block: the contact's open conversations close and leave the inbox; later messages are still
    stored (ingestion sees the identity blocked) but hidden, without notifications or automations."""
    return _set_blocked(workspace_id, contact_id, actor, blocked=True)


def unblock_contact(workspace_id: str, contact_id: str, actor: Actor) -> Contact:
    """Unblock: the conversations show in the inbox again, in the status they have (closed by the block)."""
    return _set_blocked(workspace_id, contact_id, actor, blocked=False)


def _set_blocked(workspace_id: str, contact_id: str, actor: Actor, *, blocked: bool) -> Contact:
    name = "ContactBlocked" if blocked else "ContactUnblocked"

    def attempt() -> tuple[Contact, list[str], list[DomainEvent]]:
        before = get_contact(workspace_id, contact_id)
        if bool(before.blocked) == blocked:
            return before, [], []
        conversation_ids = [
            conversation_id
            for ref in before.identities or []
            for conversation_id in conversation_ids_of(workspace_id, ref.identity_id)
        ]

        def announce(written: Contact) -> list[DomainEvent]:
            cause = f"{contact_id}:{written.version}"
            return [
                contact_event(workspace_id, name, written, actor, cause, conversation_ids=conversation_ids)
            ]

        after = clone(before)
        after.blocked = blocked
        after.blocked_at = utcnow() if blocked else None
        after.blocked_by = actor.user_id if blocked else None
        writes = [
            IdentityWrite(
                Identity(*Identity.key(workspace_id, ref.identity_id)),
                [Identity.blocked.set(blocked)],
                Identity.contact_id == contact_id,
            )
            for ref in before.identities or []
        ]
        try:
            events = commit(before, after, actor, writes, announce)
        except IdentityTaken:
            raise Stale from None  # an identity was unlinked meanwhile: read again
        return after, conversation_ids, events

    contact, conversation_ids, events = retrying(attempt)
    if not events:
        return contact
    if blocked:
        hide_conversations(workspace_id, conversation_ids)
    else:
        show_conversations(workspace_id, conversation_ids)
    after_events(events)
    return contact
