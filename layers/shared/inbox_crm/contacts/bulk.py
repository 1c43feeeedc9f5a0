"""One bulk action (tag, untag, block, unblock, delete) over chosen contacts, or over every contact a
list filter matches, one page per call.

A selection "of all matching" can be thousands of contacts: one request could not finish them, and a
list of ids would not fit in it. So the caller sends the filter and a cursor, each call applies the
action to one page of the filter's contacts and answers the next cursor, until there is none. Each
contact changes atomically on its own and the answer says what happened to each (all or report, never
all or nothing). Doing the action again changes nothing more (``unchanged``), so a retried page is safe.

Also here, for the same screens: a contact's conversations across its channels.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from inbox_crm.contacts.actors import Actor
from inbox_crm.contacts.blocking import block_contact, unblock_contact
from inbox_crm.contacts.conversation_sync import conversation_ids_of
from inbox_crm.contacts.deletion import delete_contact
from inbox_crm.contacts.reads import get_contact
from inbox_crm.contacts.search import ContactFilter, search_contacts
from inbox_crm.contacts.tagging import bulk_tag
from inbox_crm.contacts.tags import get_tag
from inbox_crm.core.errors import Conflict, NotFound
from inbox_crm.store.models import Conversation

ACTIONS = ("tag", "untag", "block", "unblock", "delete")
# The permission each action needs (docs/PERMISSIONS.md).
PERMISSION = {
    "tag": "contacts.tag",
    "untag": "contacts.tag",
    "block": "contacts.block",
    "unblock": "contacts.unblock",
    "delete": "contacts.delete",
}
PAGE = 100


@dataclass(frozen=True)
class BulkOutcome:
    results: dict[str, str]  # contact id -> done | unchanged | not_found | conflict | limit_reached
    next_cursor: str | None


def _one(workspace_id: str, action: str, contact_id: str, actor: Actor) -> str:
    contact = get_contact(workspace_id, contact_id)
    if action in ("block", "unblock"):
        wanted = action == "block"
        if bool(contact.blocked) == wanted:
            return "unchanged"
        change: Callable[..., object] = block_contact if wanted else unblock_contact
        change(workspace_id, contact_id, actor)
        return "done"
    delete_contact(workspace_id, contact_id, actor)
    return "done"


def _apply(
    workspace_id: str, action: str, contact_ids: list[str], actor: Actor, tag_id: str | None
) -> dict[str, str]:
    if action in ("tag", "untag"):
        outcome = bulk_tag(workspace_id, tag_id or "", contact_ids, actor, add=action == "tag")
        return {key: "done" if status in ("added", "removed") else status for key, status in outcome.items()}
    results: dict[str, str] = {}
    for contact_id in dict.fromkeys(contact_ids):
        try:
            results[contact_id] = _one(workspace_id, action, contact_id, actor)
        except NotFound:
            results[contact_id] = "not_found"
        except Conflict:  # e.g. deleting a blocked contact: unblock it first
            results[contact_id] = "conflict"
    return results


def bulk_contacts(
    workspace_id: str,
    action: str,
    actor: Actor,
    *,
    tag_id: str | None = None,
    contact_ids: list[str] | None = None,
    criteria: ContactFilter | None = None,
    cursor: str | None = None,
) -> BulkOutcome:
    """The chosen contacts, or one page of the filter's contacts from cursor on."""
    if tag_id is not None:
        get_tag(workspace_id, tag_id)  # an unknown tag is a 404 before anything changes
    if contact_ids is not None:
        return BulkOutcome(_apply(workspace_id, action, contact_ids, actor, tag_id), None)
    page = search_contacts(workspace_id, criteria or ContactFilter(), PAGE, cursor)
    ids = [contact.contact_id for contact in page.items]
    return BulkOutcome(_apply(workspace_id, action, ids, actor, tag_id) if ids else {}, page.next_cursor)


def contact_conversations(workspace_id: str, contact_id: str) -> list[Conversation]:
    """Every conversation of the contact's channels (a direct one and one per commented post each),
    latest activity first: the contact page lists them and the Canales tab removes a channel through one."""
    contact = get_contact(workspace_id, contact_id)
    ids = [
        conversation_id
        for ref in contact.identities or []
        for conversation_id in conversation_ids_of(workspace_id, ref.identity_id)
    ]
    keys = [Conversation.key(workspace_id, conversation_id) for conversation_id in dict.fromkeys(ids)]
    found = Conversation.batch_get(keys, consistent_read=True)
    conversations = [item for item in found if isinstance(item, Conversation)]
    return sorted(conversations, key=lambda item: item.last_activity_at, reverse=True)
