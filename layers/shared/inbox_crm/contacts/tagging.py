"""Tags on contacts: adding and removing the workspace's tags (tags.py), one contact or many."""

from __future__ import annotations

from functools import partial

from inbox_crm.contacts.actors import Actor
from inbox_crm.contacts.commit import after_events, clone, commit, contact_event, retrying
from inbox_crm.contacts.reads import get_contact
from inbox_crm.contacts.tags import get_tag
from inbox_crm.core.errors import Conflict, NotFound
from inbox_crm.events.outbox import DomainEvent
from inbox_crm.store.models import Contact

MAX_TAGS_PER_CONTACT = 20


def add_tag(workspace_id: str, contact_id: str, tag_id: str, actor: Actor) -> Contact:
    tag = get_tag(workspace_id, tag_id)
    contact, events = retrying(
        lambda: _change_tag(workspace_id, contact_id, tag_id, tag.name, actor, add=True)
    )
    after_events(events)
    return contact


def remove_tag(workspace_id: str, contact_id: str, tag_id: str, actor: Actor) -> Contact:
    contact, events = retrying(lambda: _change_tag(workspace_id, contact_id, tag_id, None, actor, add=False))
    after_events(events)
    return contact


def bulk_tag(
    workspace_id: str, tag_id: str, contact_ids: list[str], actor: Actor, *, add: bool
) -> dict[str, str]:
    """Each contact is changed atomically on its own; the answer says what happened to each:
    added | removed | unchanged | not_found | limit_reached."""
    tag = get_tag(workspace_id, tag_id)
    outcome: dict[str, str] = {}
    announced: list[DomainEvent] = []
    for contact_id in dict.fromkeys(contact_ids):
        try:
            _, events = retrying(
                partial(_change_tag, workspace_id, contact_id, tag_id, tag.name, actor, add=add)
            )
        except NotFound:
            outcome[contact_id] = "not_found"
            continue
        except Conflict:
            outcome[contact_id] = "limit_reached" if add else "conflict"
            continue
        outcome[contact_id] = ("added" if add else "removed") if events else "unchanged"
        announced += events
    after_events(announced)
    return outcome


def _change_tag(
    workspace_id: str, contact_id: str, tag_id: str, tag_name: str | None, actor: Actor, *, add: bool
) -> tuple[Contact, list[DomainEvent]]:
    """The contact and the events committed with the change (none: it already was so)."""
    before = get_contact(workspace_id, contact_id)
    tags = list(before.tags or [])
    if (tag_id in tags) == add:
        return before, []
    if add and len(tags) >= MAX_TAGS_PER_CONTACT:
        raise Conflict(f"A contact can have at most {MAX_TAGS_PER_CONTACT} tags")
    after = clone(before)
    after.tags = [*tags, tag_id] if add else [tag for tag in tags if tag != tag_id] or None
    name = "TagAdded" if add else "TagRemoved"
    events = commit(
        before,
        after,
        actor,
        announce=lambda written: [_tag_event(workspace_id, name, written, tag_id, tag_name, actor)],
    )
    return after, events


def _tag_event(
    workspace_id: str, name: str, contact: Contact, tag_id: str, tag_name: str | None, actor: Actor
) -> DomainEvent:
    cause = f"{contact.contact_id}:{tag_id}:{contact.version}"
    return contact_event(workspace_id, name, contact, actor, cause, tag_id=tag_id, tag_name=tag_name)
