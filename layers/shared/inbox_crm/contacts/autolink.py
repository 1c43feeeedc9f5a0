"""WhatsApp auto-link: a new WhatsApp sender joins the one contact that has its number."""

from __future__ import annotations

from inbox_crm.contacts.actors import Actor
from inbox_crm.contacts.commit import contact_event
from inbox_crm.contacts.conversation_sync import conversation_ids_of
from inbox_crm.contacts.linking import after_link, link_identity
from inbox_crm.contacts.lookup import contact_ids_for
from inbox_crm.contacts.reads import oldest_first
from inbox_crm.contacts.values import canonical_phone
from inbox_crm.core.errors import DomainError
from inbox_crm.core.observability import logger
from inbox_crm.events.outbox import DomainEvent
from inbox_crm.store.models import Contact, Identity


def whatsapp_link_candidate(identity: Identity) -> Contact | None:
    """The contact a new WhatsApp sender links to (the seeds' rule): the one contact whose WhatsApp
    phone is the sender's number, or whose primary phone is while it has no WhatsApp phone yet.
    Several candidates: none is guessed. Reads only."""
    if identity.platform != "whatsapp" or identity.contact_id or not identity.phone:
        return None
    number = canonical_phone(identity.phone)
    if number is None:
        return None
    workspace_id = identity.workspace_id
    candidates = [
        contact
        for contact in oldest_first(workspace_id, contact_ids_for(workspace_id, "phone", number))
        if contact.whatsapp_phone == number
        or (contact.primary_phone == number and not contact.whatsapp_phone)
    ]
    if len(candidates) > 1:
        logger.info(
            "whatsapp auto-link skipped: several contacts have this number", extra={"count": len(candidates)}
        )
    return candidates[0] if len(candidates) == 1 else None


def auto_link_whatsapp(
    identity: Identity, correlation_id: str | None = None, candidate: Contact | None = None
) -> list[DomainEvent]:
    """Link a new WhatsApp sender to its candidate contact (whatsapp_link_candidate), committing
    ContactAssociated (automatic) with the link; returns the committed events. On success the identity
    object is updated in place (contact_id, blocked). A refusal is logged and skipped; a DynamoDB
    error is raised, so the unit is redelivered and the duplicate finishes the link (the intent is
    on the identity, committed with the message)."""
    workspace_id = identity.workspace_id
    actor = Actor("system", correlation_id)
    try:
        candidate = candidate or whatsapp_link_candidate(identity)
        if candidate is None:
            return []
        conversation_ids = conversation_ids_of(workspace_id, identity.identity_id)

        def announce(written: Contact, outcome: str) -> list[DomainEvent]:
            cause = f"{written.contact_id}:{identity.identity_id}:{written.version}"
            data = {
                "identity_id": identity.identity_id,
                "channel": "whatsapp",
                "conversation_ids": conversation_ids,
                "automatic": True,
            }
            return [contact_event(workspace_id, "ContactAssociated", written, actor, cause, **data)]

        contact, _, events = link_identity(
            workspace_id, identity, candidate.contact_id, None, actor, announce
        )
        after_link(workspace_id, identity, contact, conversation_ids)
    except DomainError as error:
        logger.warning(
            "whatsapp auto-link refused", extra={"identity_id": identity.identity_id, "error": str(error)}
        )
        return []
    identity.contact_id = contact.contact_id
    identity.blocked = bool(contact.blocked)
    return events
