"""Accepting a merge suggestion: merge the pair, or associate (or merge) the conversation's sender."""

from __future__ import annotations

from dataclasses import dataclass

from inbox_crm.contacts.actors import Actor
from inbox_crm.contacts.linking import link_conversation
from inbox_crm.contacts.reads import get_contact, oldest_first
from inbox_crm.contacts.values import InvalidFields
from inbox_crm.identity import suggestions
from inbox_crm.identity.merge import merge_contacts
from inbox_crm.store.models import Contact, Identity, Merge


@dataclass(frozen=True)
class Accepted:
    outcome: str  # merged | associated | already_done
    contact: Contact
    merge: Merge | None = None


def accept_suggestion(
    workspace_id: str, suggestion_id: str, actor: Actor, survivor_id: str | None = None
) -> Accepted:
    """Do what the suggestion suggests. shared_value: merge the pair (survivor: the given one, else
    the older contact). conversation_hint: associate the sender with the contact holding the typed
    value, or merge the sender's contact into it. Nothing is ever merged without this request."""
    suggestion = suggestions.get_suggestion(workspace_id, suggestion_id)
    if suggestion.kind == "shared_value":
        pair = sorted(suggestion.contact_ids)
        # The default survivor is the older contact by creation time, never by id order.
        oldest = oldest_first(workspace_id, pair) if survivor_id is None else []
        survivor = survivor_id or (oldest[0].contact_id if oldest else pair[0])
        if survivor not in pair:
            raise InvalidFields.one(("survivor_id",), "one of the suggestion's contacts", "choice")
        other = next(contact_id for contact_id in pair if contact_id != survivor)
        result = merge_contacts(workspace_id, survivor, other, actor, suggestion_id=suggestion_id)
        suggestions.remove(suggestion)
        return Accepted("merged", result.survivor, result.merge)
    target = suggestion.target_contact_id or ""
    identity = Identity.get(*Identity.key(workspace_id, suggestion.identity_id or ""), consistent_read=True)
    if identity.contact_id == target:
        suggestions.remove(suggestion)
        return Accepted("already_done", get_contact(workspace_id, target))
    if identity.contact_id is None:
        linked = link_conversation(
            workspace_id,
            suggestion.conversation_id or identity.conversation_id or "",
            actor,
            contact_id=target,
        )
        suggestions.remove(suggestion)
        return Accepted("associated", linked.contact)
    result = merge_contacts(workspace_id, target, identity.contact_id, actor, suggestion_id=suggestion_id)
    suggestions.remove(suggestion)
    return Accepted("merged", result.survivor, result.merge)
