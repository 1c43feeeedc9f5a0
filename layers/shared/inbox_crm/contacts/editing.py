"""Creating and editing contacts."""

from __future__ import annotations

from typing import Any

from inbox_crm.contacts.actors import Actor
from inbox_crm.contacts.commit import (
    Stale,
    after_events,
    changed_fields,
    check_version,
    clone,
    commit,
    contact_event,
    retrying,
)
from inbox_crm.contacts.fields import Inputs, apply_fields, check_identified
from inbox_crm.contacts.reads import get_contact
from inbox_crm.core.errors import Conflict, PreconditionFailed
from inbox_crm.core.ids import new_id
from inbox_crm.core.timeutil import utcnow
from inbox_crm.events.outbox import DomainEvent
from inbox_crm.store.models import Contact


def create_contact(workspace_id: str, fields: dict[str, Any], actor: Actor) -> Contact:
    contact = fresh_contact(workspace_id, actor, source="manual")
    apply_fields(contact, fields, Inputs(workspace_id), actor)
    check_identified(contact)

    def announce(written: Contact) -> list[DomainEvent]:
        cause = f"{written.contact_id}:created"
        return [contact_event(workspace_id, "ContactCreated", written, actor, cause, source=written.source)]

    try:
        events = commit(None, contact, actor, announce=announce)
    except Stale:  # a random id collided: practically never, but never overwrite
        raise Conflict("Could not create the contact; try again") from None
    after_events(events)
    return contact


def fresh_contact(workspace_id: str, actor: Actor, source: str) -> Contact:
    now = utcnow()
    contact_id = new_id("ctc")
    return Contact(
        *Contact.key(workspace_id, contact_id),
        workspace_id=workspace_id,
        contact_id=contact_id,
        source=source,
        created_by=actor.user_id,
        created_at=now,
    )


def update_contact(
    workspace_id: str, contact_id: str, fields: dict[str, Any], actor: Actor, expected_version: int | None
) -> Contact:
    """A partial edit. With expected_version, a contact changed since then is PreconditionFailed;
    without it, the edit applies to the newest version (fields not sent are never overwritten)."""
    inputs = Inputs(workspace_id)

    def attempt() -> tuple[Contact, list[DomainEvent]]:
        before = get_contact(workspace_id, contact_id)
        check_version(before, expected_version)
        after = clone(before)
        apply_fields(after, fields, inputs, actor)
        check_identified(after)
        changed = changed_fields(before, after)
        if not changed:
            return before, []

        def announce(written: Contact) -> list[DomainEvent]:
            cause = f"{written.contact_id}:{written.version}"
            return [contact_event(workspace_id, "ContactUpdated", written, actor, cause, changed=changed)]

        try:
            events = commit(before, after, actor, announce=announce)
        except Stale:
            if expected_version is not None:
                raise PreconditionFailed(
                    "The contact was changed since you read it", {"your_version": expected_version}
                ) from None
            raise
        return after, events

    contact, events = retrying(attempt)
    after_events(events)
    return contact
