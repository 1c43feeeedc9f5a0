"""Channel identities on contacts: linking a conversation's sender to a contact (or creating the
contact from it), unlinking it, and copying the channel's profile onto the contact.

An identity belongs to at most one contact: each link is written on condition that the identity is
still free (commit.py), and every conversation of the identity, past and future, then shows the
contact (conversation_sync.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from inbox_crm.contacts.actors import Actor
from inbox_crm.contacts.commit import (
    IdentityTaken,
    IdentityWrite,
    Stale,
    after_events,
    changed_fields,
    clone,
    commit,
    contact_event,
    retrying,
)
from inbox_crm.contacts.conversation_sync import (
    conversation_ids_of,
    hide_conversations,
    set_conversations_contact,
)
from inbox_crm.contacts.editing import fresh_contact
from inbox_crm.contacts.fields import MAX_SECONDARY_PHONES, Inputs, apply_fields, check_identified, tidy
from inbox_crm.contacts.reads import get_contact, get_conversation, get_identity
from inbox_crm.contacts.values import InvalidFields, canonical_phone
from inbox_crm.core.errors import Conflict, NotFound
from inbox_crm.events.outbox import DomainEvent
from inbox_crm.store.models import Contact, Conversation, Identity, IdentityRef

MAX_IDENTITIES = 10


@dataclass(frozen=True)
class LinkResult:
    contact: Contact
    conversation: Conversation
    created: bool


def _identity_ref(identity: Identity) -> IdentityRef:
    return IdentityRef(
        identity_id=identity.identity_id,
        platform=identity.platform,
        account_id=identity.account_id,
        external_id=identity.external_id,
        username=identity.username,
        phone=identity.phone,
    )


def _attach(contact: Contact, identity: Identity) -> None:
    """What each channel brings to the contact, as the seeds describe it: WhatsApp's number becomes
    the WhatsApp phone (and the primary phone when there is none); Messenger's PSID and Instagram's
    username / IGSID come through the identity itself. The channel's display name and picture fill
    gaps, and so do the first and last names Meta gave us."""
    refs = [ref for ref in contact.identities or [] if ref.identity_id != identity.identity_id]
    if len(refs) >= MAX_IDENTITIES:
        raise Conflict(f"A contact can have at most {MAX_IDENTITIES} channel identities")
    contact.identities = [*refs, _identity_ref(identity)]
    if identity.platform == "whatsapp" and identity.phone:
        number = canonical_phone(identity.phone) or identity.phone
        previous = contact.whatsapp_phone
        if previous and previous != number:
            # keep the number it replaces among the secondary phones: nothing typed in is lost
            secondary = [*(contact.secondary_phones or []), previous]
            contact.secondary_phones = list(dict.fromkeys(secondary))[-MAX_SECONDARY_PHONES:]
        contact.whatsapp_phone = number
        contact.primary_phone = contact.primary_phone or number
    _fill_from_channel(contact, identity)
    tidy(contact)


def _fill_from_channel(contact: Contact, identity: Identity) -> None:
    contact.display_name = contact.display_name or identity.display_name
    contact.profile_pic_url = contact.profile_pic_url or identity.profile_pic_url
    contact.first_name = contact.first_name or identity.first_name
    contact.last_name = contact.last_name or identity.last_name


def _link_write(identity: Identity, contact: Contact) -> IdentityWrite:
    return IdentityWrite(
        identity,
        [
            Identity.contact_id.set(contact.contact_id),
            Identity.blocked.set(bool(contact.blocked)),
            Identity.auto_link_to.remove(),  # any link settles a pending WhatsApp auto-link
        ],
        Identity.pk.exists() & Identity.contact_id.does_not_exist(),
    )


def unlink_write(workspace_id: str, identity_id: str, contact_id: str) -> IdentityWrite:
    identity = Identity(*Identity.key(workspace_id, identity_id))
    return IdentityWrite(
        identity,
        [Identity.contact_id.remove(), Identity.blocked.set(False)],
        Identity.contact_id == contact_id,
    )


LinkAnnounce = Callable[[Contact, str], list[DomainEvent]]  # the contact as written, created | linked


def link_identity(
    workspace_id: str,
    identity: Identity,
    contact_id: str | None,
    new_fields: dict[str, Any] | None,
    actor: Actor,
    announce: LinkAnnounce,
) -> tuple[Contact, str, list[DomainEvent]]:
    """Link the identity to an existing contact or to a new one made from new_fields.
    Returns the contact, what happened (created | linked | unchanged: it already was) and the events
    committed with it."""
    if identity.contact_id is not None:
        if identity.contact_id == contact_id:
            return get_contact(workspace_id, contact_id), "unchanged", []
        raise Conflict(
            "This sender is already linked to another contact", {"contact_id": identity.contact_id}
        )

    if new_fields is not None:
        contact = fresh_contact(workspace_id, actor, source=identity.platform)
        apply_fields(contact, new_fields, Inputs(workspace_id), actor)
        _attach(contact, identity)
        try:
            events = commit(
                None,
                contact,
                actor,
                [_link_write(identity, contact)],
                partial(_with_outcome, announce, "created"),
            )
        except IdentityTaken:
            raise _identity_conflict(workspace_id, identity.identity_id) from None
        except Stale:
            raise Conflict("Could not create the contact; try again") from None
        return contact, "created", events

    assert contact_id is not None

    def attempt() -> tuple[Contact, str, list[DomainEvent]]:
        before = get_contact(workspace_id, contact_id)
        after = clone(before)
        _attach(after, identity)
        try:
            events = commit(
                before,
                after,
                actor,
                [_link_write(identity, after)],
                partial(_with_outcome, announce, "linked"),
            )
        except IdentityTaken:
            current = get_identity(workspace_id, identity.identity_id).contact_id
            if current == contact_id:  # a concurrent identical request won
                return get_contact(workspace_id, contact_id), "unchanged", []
            raise _identity_conflict(workspace_id, identity.identity_id) from None
        return after, "linked", events

    return retrying(attempt)


def _with_outcome(announce: LinkAnnounce, outcome: str, written: Contact) -> list[DomainEvent]:
    return announce(written, outcome)


def _identity_conflict(workspace_id: str, identity_id: str) -> Conflict:
    holder = get_identity(workspace_id, identity_id).contact_id
    return Conflict("This sender is already linked to another contact", {"contact_id": holder})


def after_link(
    workspace_id: str, identity: Identity, contact: Contact, conversation_ids: list[str] | None = None
) -> list[str]:
    conversation_ids = set_conversations_contact(
        workspace_id, identity.identity_id, contact.contact_id, conversation_ids=conversation_ids
    )
    if contact.blocked:
        hide_conversations(workspace_id, conversation_ids)
    return conversation_ids


def link_conversation(
    workspace_id: str,
    conversation_id: str,
    actor: Actor,
    *,
    contact_id: str | None = None,
    new_contact: dict[str, Any] | None = None,
) -> LinkResult:
    """Associate the conversation's sender with a contact, or create the contact from it. Every
    conversation of that sender, past and future, then belongs to the contact."""
    conversation = get_conversation(workspace_id, conversation_id)
    identity = get_identity(workspace_id, conversation.identity_id)
    conversation_ids = conversation_ids_of(workspace_id, identity.identity_id)
    link_data = {
        "identity_id": identity.identity_id,
        "channel": identity.platform,
        "conversation_id": conversation_id,
        "conversation_ids": conversation_ids,
    }

    def announce(written: Contact, outcome: str) -> list[DomainEvent]:
        events = []
        if outcome == "created":
            cause = f"{written.contact_id}:created"
            events.append(
                contact_event(
                    workspace_id, "ContactCreated", written, actor, cause, source=written.source, **link_data
                )
            )
        cause = f"{written.contact_id}:{identity.identity_id}:{written.version}"
        events.append(contact_event(workspace_id, "ContactAssociated", written, actor, cause, **link_data))
        return events

    contact, outcome, events = link_identity(workspace_id, identity, contact_id, new_contact, actor, announce)
    after_link(workspace_id, identity, contact, conversation_ids)  # also repairs a half-done link
    after_events(events)
    # answer with what the sweep wrote rather than reading the conversation again
    conversation.contact_id = contact.contact_id
    if contact.blocked:
        conversation.hidden = True
        conversation.status = "closed"
    return LinkResult(contact, conversation, created=outcome == "created")


def unlink_conversation(workspace_id: str, conversation_id: str, actor: Actor) -> Conversation:
    """Remove the sender's channel identity from its contact; the history stays with the identity."""
    conversation = get_conversation(workspace_id, conversation_id)
    identity = get_identity(workspace_id, conversation.identity_id)
    contact_id = identity.contact_id
    if contact_id is None:
        raise Conflict("This conversation's sender is not linked to a contact")
    conversation_ids = conversation_ids_of(workspace_id, identity.identity_id)

    def announce(written: Contact) -> list[DomainEvent]:
        cause = f"{contact_id}:{identity.identity_id}:{written.version}"
        data = {
            "identity_id": identity.identity_id,
            "channel": identity.platform,
            "conversation_ids": conversation_ids,
        }
        return [contact_event(workspace_id, "ContactUnlinked", written, actor, cause, **data)]

    def attempt() -> tuple[Contact, list[DomainEvent]]:
        before = get_contact(workspace_id, contact_id)
        if before.blocked:
            raise Conflict("Unblock the contact before removing its channels", {"contact_id": contact_id})
        after = clone(before)
        after.identities = [
            ref for ref in before.identities or [] if ref.identity_id != identity.identity_id
        ] or None
        number = canonical_phone(identity.phone) if identity.phone else None
        if identity.platform == "whatsapp" and after.whatsapp_phone in (number, identity.phone):
            after.whatsapp_phone = None  # its WhatsApp phone was this channel's; the primary phone stays
        try:
            check_identified(after)
        except InvalidFields:
            raise Conflict(
                "Without this channel the contact has no phone, email or channel to identify it: "
                "add a phone or an email first, or delete the contact",
                {"contact_id": contact_id},
            ) from None
        try:
            events = commit(
                before,
                after,
                actor,
                [unlink_write(workspace_id, identity.identity_id, contact_id)],
                announce,
            )
        except IdentityTaken:
            raise Stale from None
        return after, events

    _, events = retrying(attempt)
    set_conversations_contact(
        workspace_id, identity.identity_id, None, previous=contact_id, conversation_ids=conversation_ids
    )
    after_events(events)
    conversation.contact_id = None
    return conversation


def refresh_identity(workspace_id: str, identity_id: str) -> Contact | None:
    """Copy an identity's current profile (username, phone, name, picture) onto its contact, and
    with it the Instagram username lookup. For profile enrichment to call when the profile arrives
    after the sender was linked. Idempotent; None when the identity has no (live) contact."""
    try:
        identity = get_identity(workspace_id, identity_id)
    except NotFound:
        return None
    contact_id = identity.contact_id
    if contact_id is None:
        return None

    def attempt() -> Contact:
        before = get_contact(workspace_id, contact_id)
        if not any(ref.identity_id == identity_id for ref in before.identities or []):
            return before
        after = clone(before)
        after.identities = [
            _identity_ref(identity) if ref.identity_id == identity_id else ref
            for ref in before.identities or []
        ]
        _fill_from_channel(after, identity)
        if changed_fields(before, after):
            commit(before, after, Actor("system"))
        return after

    try:
        return retrying(attempt)
    except NotFound:
        return None
