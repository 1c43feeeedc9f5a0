"""Reading contacts, and the identities and conversations their changes start from."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from inbox_crm.contacts.values import looks_like_id
from inbox_crm.core.errors import NotFound
from inbox_crm.store.models import Contact, Conversation, Identity


def get_contact(workspace_id: str, contact_id: str) -> Contact:
    """A live contact of the workspace; deleted ones and other workspaces' ids are NotFound."""
    if not looks_like_id(contact_id):
        raise NotFound("No such contact")
    try:
        contact = Contact.get(*Contact.key(workspace_id, contact_id), consistent_read=True)
    except Contact.DoesNotExist:
        raise NotFound("No such contact") from None
    if contact.deleted:
        raise NotFound("No such contact")
    if contact.merged_into:  # soft-merged (identity/merge.py): kept only for undo
        raise NotFound("This contact was merged into another", {"merged_into": contact.merged_into})
    return contact


def get_identity(workspace_id: str, identity_id: str) -> Identity:
    try:
        return Identity.get(*Identity.key(workspace_id, identity_id), consistent_read=True)
    except Identity.DoesNotExist:
        raise NotFound("This conversation's sender is unknown") from None


def get_conversation(workspace_id: str, conversation_id: str) -> Conversation:
    if not looks_like_id(conversation_id):
        raise NotFound("No such conversation")
    try:
        return Conversation.get(*Conversation.key(workspace_id, conversation_id), consistent_read=True)
    except Conversation.DoesNotExist:
        raise NotFound("No such conversation") from None


def oldest_first(workspace_id: str, contact_ids: Iterable[str]) -> list[Contact]:
    """The contacts that exist and are not deleted, oldest first by creation time: ids minted
    before ids were time-ordered do not say which contact is older."""
    keys = [Contact.key(workspace_id, contact_id) for contact_id in dict.fromkeys(contact_ids)]
    found = [item for item in Contact.batch_get(keys, consistent_read=True) if isinstance(item, Contact)]
    return sorted(
        (contact for contact in found if not contact.deleted),
        key=lambda contact: (contact.created_at or datetime.max.replace(tzinfo=UTC), contact.contact_id),
    )


def find_contact_for_identity(identity: Identity) -> Contact | None:
    """The live contact an identity belongs to (one GetItem), or None."""
    if not identity.contact_id:
        return None
    try:
        return get_contact(identity.workspace_id, identity.contact_id)
    except NotFound:
        return None
