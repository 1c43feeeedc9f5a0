"""Contacts: create, edit, delete, link channel identities, block, tag.

Every change is one TransactWriteItems: the contact (guarded by its version, so concurrent edits
never overwrite each other), the identities it links or unlinks (guarded by their current link, so
an identity never belongs to two contacts), and the search / lookup / listing entries derived from
the contact (contact_index.py), and the change's domain events (the outbox, inbox_crm/events/outbox.py).
The conversations of a linked identity are updated right after,
idempotently, because an identity may have more of them than a transaction may hold.

A caller that states the version it edited gets PreconditionFailed when it is stale. Changes the
server merges itself (links, tags, blocks) re-read and retry instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property, partial
from typing import Any, TypeVar

from pynamodb.exceptions import TransactWriteError, UpdateError
from pynamodb.expressions.condition import Condition

from inbox_crm.contacts import custom_fields
from inbox_crm.contacts.index import changes, index_items
from inbox_crm.contacts.lookup import contact_ids_for
from inbox_crm.contacts.tags import get_tag
from inbox_crm.contacts.values import (
    InvalidFields,
    canonical_phone,
    country_of,
    looks_like_id,
    normalise_country,
    normalise_email,
    normalise_language,
    normalise_phone,
)
from inbox_crm.core.errors import Conflict, DomainError, NotFound, PreconditionFailed
from inbox_crm.core.ids import new_id
from inbox_crm.core.observability import logger
from inbox_crm.core.timeutil import utcnow
from inbox_crm.events.outbox import DomainEvent, stage
from inbox_crm.inbox.index import reindex_actions
from inbox_crm.store.models import (
    Consent,
    Contact,
    Conversation,
    CustomField,
    Identity,
    IdentityConversation,
    IdentityRef,
    User,
)
from inbox_crm.store.transactions import TransactionConflict, condition_failed, transaction
from inbox_crm.workspaces.members import get_workspace

MAX_EMAILS = 5
MAX_SECONDARY_PHONES = 5
MAX_IDENTITIES = 10
MAX_TAGS_PER_CONTACT = 20
_MAX_TRANSACTION_ITEMS = 100
_MAX_ATTEMPTS = 4
_DEFAULT_REGION = "MX"

_BOOKKEEPING = frozenset({"version", "updated_at", "updated_by"})

T = TypeVar("T")


class _Stale(Exception):
    """The contact changed between our read and our write."""


class _IdentityTaken(Exception):
    """The identity was linked (or unlinked) by someone else between our read and our write."""


@dataclass(frozen=True)
class Actor:
    """Who is changing contacts: a user id (or "system" / a flow id) and the request's correlation id."""

    user_id: str
    correlation_id: str | None = None
    caused_by_flow: str | None = None  # a flow's action: its events carry it (the flows' loop guard)


@dataclass(frozen=True)
class LinkResult:
    contact: Contact
    conversation: Conversation
    created: bool


# ------------------------------------------------------------------ reads


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


def _get_identity(workspace_id: str, identity_id: str) -> Identity:
    try:
        return Identity.get(*Identity.key(workspace_id, identity_id), consistent_read=True)
    except Identity.DoesNotExist:
        raise NotFound("This conversation's sender is unknown") from None


def _get_conversation(workspace_id: str, conversation_id: str) -> Conversation:
    if not looks_like_id(conversation_id):
        raise NotFound("No such conversation")
    try:
        return Conversation.get(*Conversation.key(workspace_id, conversation_id), consistent_read=True)
    except Conversation.DoesNotExist:
        raise NotFound("No such conversation") from None


# ------------------------------------------------------------------ applying field changes


class _Inputs:
    """What validating a change may need, read at most once and only when needed."""

    def __init__(self, workspace_id: str) -> None:
        self.workspace_id = workspace_id

    @cached_property
    def region(self) -> str:
        workspace = get_workspace(self.workspace_id)
        return workspace.default_region if workspace else _DEFAULT_REGION

    @cached_property
    def field_definitions(self) -> list[CustomField]:
        return custom_fields.list_fields(self.workspace_id)

    def is_member(self, user_id: str) -> bool:
        try:
            User.get(*User.key(self.workspace_id, user_id))
        except User.DoesNotExist:
            return False
        return True


def _text(value: Any) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


class _FieldErrors:
    """Collects every failing field of a request, so the answer names them all at once."""

    def __init__(self) -> None:
        self.details: list[dict[str, Any]] = []

    def check(self, normalise: Callable[..., T], *args: Any) -> T | None:
        try:
            return normalise(*args)
        except InvalidFields as error:
            self.details.extend(error.details)
            return None


def _apply_fields(contact: Contact, fields: dict[str, Any], inputs: _Inputs, actor: Actor) -> None:
    """Validate and normalise the given fields onto the contact; all failing fields in one error."""
    errors = _FieldErrors()
    for name in ("first_name", "last_name", "company", "source"):
        if name in fields:
            setattr(contact, name, _text(fields[name]))
    if "emails" in fields:
        emails = [
            errors.check(normalise_email, raw, ("emails", index))
            for index, raw in enumerate(fields["emails"] or [])
        ]
        contact.emails = list(dict.fromkeys(email for email in emails if email)) or None
    for name in ("primary_phone", "whatsapp_phone"):
        if name in fields:
            raw = fields[name]
            setattr(
                contact, name, errors.check(normalise_phone, raw, inputs.region, (name,)) if raw else None
            )
    if "secondary_phones" in fields:
        phones = [
            errors.check(normalise_phone, raw, inputs.region, ("secondary_phones", index))
            for index, raw in enumerate(fields["secondary_phones"] or [])
        ]
        contact.secondary_phones = list(dict.fromkeys(phone for phone in phones if phone)) or None
    if "country" in fields:
        raw = fields["country"]
        contact.country_manual = raw is not None
        contact.country = errors.check(normalise_country, raw, ("country",)) if raw else None
    if "language" in fields:
        raw = fields["language"]
        contact.language = errors.check(normalise_language, raw, ("language",)) if raw else None
    if "assignee_id" in fields:
        assignee = fields["assignee_id"]
        if assignee and not inputs.is_member(assignee):
            errors.details.append(
                {"loc": ["assignee_id"], "msg": "no such user in this workspace", "type": "unknown"}
            )
        contact.assignee_id = assignee or None
    if "consent" in fields:
        _apply_consent(contact, fields["consent"], actor)
    if fields.get("custom_fields"):
        values = errors.check(
            custom_fields.validate_values, inputs.field_definitions, fields["custom_fields"]
        )
        if values is not None:
            merged = {**(contact.custom_fields.as_dict() if contact.custom_fields else {}), **values}
            stored = {key: value for key, value in merged.items() if value is not None}
            contact.custom_fields = stored or None
    for name, most in (("emails", MAX_EMAILS), ("secondary_phones", MAX_SECONDARY_PHONES)):
        if len(getattr(contact, name) or []) > most:
            errors.details.append({"loc": [name], "msg": f"at most {most}", "type": "too_long"})
    if errors.details:
        raise InvalidFields(errors.details)
    _tidy(contact)


def _apply_consent(contact: Contact, consent: dict[str, Any] | None, actor: Actor) -> None:
    if consent is None:
        contact.consent = None
        return
    given = bool(consent.get("given"))
    if contact.consent is not None and contact.consent.given == given:
        return  # unchanged: keep who recorded it and when
    contact.consent = Consent(given=given, recorded_by=actor.user_id, recorded_at=utcnow())


def _tidy(contact: Contact) -> None:
    """Derived values: secondary phones never repeat the primary; the country follows the primary
    phone until a person sets it."""
    if contact.secondary_phones:
        contact.secondary_phones = [
            phone for phone in contact.secondary_phones if phone != contact.primary_phone
        ] or None
    if not contact.country_manual:
        contact.country = country_of(contact.primary_phone)


def _check_identified(contact: Contact) -> None:
    """The seeds' rule: a primary phone or an email identifies a contact, unless a channel identity
    (the Messenger / Instagram sender it was created from) does."""
    if contact.primary_phone or contact.emails or contact.identities:
        return
    message = "a contact needs a primary phone or an email"
    raise InvalidFields(
        [
            {"loc": ["primary_phone"], "msg": message, "type": "missing"},
            {"loc": ["emails"], "msg": message, "type": "missing"},
        ]
    )


def _clone(contact: Contact) -> Contact:
    return Contact.from_raw_data(contact.serialize())


def _changed_fields(before: Contact, after: Contact) -> list[str]:
    old, new = before.serialize(), after.serialize()
    return sorted(
        name for name in set(old) | set(new) if name not in _BOOKKEEPING and old.get(name) != new.get(name)
    )


# ------------------------------------------------------------------ writing


Announce = Callable[[Contact], list[DomainEvent]]  # the events of a change, given the contact as written


@dataclass(frozen=True)
class _IdentityWrite:
    identity: Identity
    actions: list[Any]
    condition: Condition


def _commit(
    before: Contact | None,
    after: Contact,
    actor: Actor,
    identities: Iterable[_IdentityWrite] = (),
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
        written = _clone(after)
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
            raise _Stale from conflict
        raise _IdentityTaken from conflict
    except TransactWriteError as error:
        # DynamoDB also cancels a transaction that raced another on the same item: read again.
        if any(reason and reason.code == "TransactionConflict" for reason in error.cancellation_reasons):
            raise _Stale from error
        raise
    return events


def _retrying(operation: Callable[[], T]) -> T:
    """Server-merged changes: on a concurrent write, read again and redo (a few times)."""
    for _ in range(_MAX_ATTEMPTS - 1):
        try:
            return operation()
        except _Stale:
            continue
    try:
        return operation()
    except _Stale:
        raise Conflict("The contact is being changed by someone else; try again") from None


def _event(
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


def _announce(events: list[DomainEvent]) -> None:
    """What follows committed contact events in this process: merge suggestions follow phones,
    emails and liveness. (The events themselves were committed with the change.)"""
    if not events:
        return
    from inbox_crm.identity.suggestions import after_contact_events

    after_contact_events(events)


# ------------------------------------------------------------------ create / edit / delete


def create_contact(workspace_id: str, fields: dict[str, Any], actor: Actor) -> Contact:
    contact = _new_contact(workspace_id, actor, source="manual")
    _apply_fields(contact, fields, _Inputs(workspace_id), actor)
    _check_identified(contact)

    def announce(written: Contact) -> list[DomainEvent]:
        cause = f"{written.contact_id}:created"
        return [_event(workspace_id, "ContactCreated", written, actor, cause, source=written.source)]

    try:
        events = _commit(None, contact, actor, announce=announce)
    except _Stale:  # a random id collided: practically never, but never overwrite
        raise Conflict("Could not create the contact; try again") from None
    _announce(events)
    return contact


def _new_contact(workspace_id: str, actor: Actor, source: str) -> Contact:
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
    inputs = _Inputs(workspace_id)

    def attempt() -> tuple[Contact, list[DomainEvent]]:
        before = get_contact(workspace_id, contact_id)
        _check_version(before, expected_version)
        after = _clone(before)
        _apply_fields(after, fields, inputs, actor)
        _check_identified(after)
        changed = _changed_fields(before, after)
        if not changed:
            return before, []

        def announce(written: Contact) -> list[DomainEvent]:
            cause = f"{written.contact_id}:{written.version}"
            return [_event(workspace_id, "ContactUpdated", written, actor, cause, changed=changed)]

        try:
            events = _commit(before, after, actor, announce=announce)
        except _Stale:
            if expected_version is not None:
                raise PreconditionFailed(
                    "The contact was changed since you read it", {"your_version": expected_version}
                ) from None
            raise
        return after, events

    contact, events = _retrying(attempt)
    _announce(events)
    return contact


def _check_version(contact: Contact, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != contact.version:
        raise PreconditionFailed(
            "The contact was changed since you read it",
            {"current_version": contact.version, "your_version": expected_version},
        )


def delete_contact(
    workspace_id: str, contact_id: str, actor: Actor, expected_version: int | None = None
) -> Contact:
    """Soft delete: the contact item stays as the audit record (who, when, what it held); its index
    entries go, and its identities are unlinked but kept, with their conversations."""

    def announce(written: Contact) -> list[DomainEvent]:
        return [_event(workspace_id, "ContactDeleted", written, actor, f"{contact_id}:deleted")]

    def attempt() -> tuple[Contact, list[DomainEvent]]:
        before = get_contact(workspace_id, contact_id)
        _check_version(before, expected_version)
        if before.blocked:
            raise Conflict("Unblock the contact before deleting it", {"contact_id": contact_id})
        after = _clone(before)
        after.deleted = True
        after.deleted_at = utcnow()
        after.deleted_by = actor.user_id
        try:
            events = _commit(
                before,
                after,
                actor,
                [_unlink_write(workspace_id, ref.identity_id, contact_id) for ref in before.identities or []],
                announce,
            )
        except _IdentityTaken:
            raise _Stale from None  # an identity was unlinked meanwhile: read again
        return after, events

    contact, events = _retrying(attempt)
    for ref in contact.identities or []:
        _set_conversations_contact(workspace_id, ref.identity_id, None, previous=contact_id)
    _announce(events)
    return contact


# ------------------------------------------------------------------ identities and conversations


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
    _tidy(contact)


def _fill_from_channel(contact: Contact, identity: Identity) -> None:
    contact.display_name = contact.display_name or identity.display_name
    contact.profile_pic_url = contact.profile_pic_url or identity.profile_pic_url
    contact.first_name = contact.first_name or identity.first_name
    contact.last_name = contact.last_name or identity.last_name


def _link_write(identity: Identity, contact: Contact) -> _IdentityWrite:
    return _IdentityWrite(
        identity,
        [
            Identity.contact_id.set(contact.contact_id),
            Identity.blocked.set(bool(contact.blocked)),
            Identity.auto_link_to.remove(),  # any link settles a pending WhatsApp auto-link
        ],
        Identity.pk.exists() & Identity.contact_id.does_not_exist(),
    )


def _unlink_write(workspace_id: str, identity_id: str, contact_id: str) -> _IdentityWrite:
    identity = Identity(*Identity.key(workspace_id, identity_id))
    return _IdentityWrite(
        identity,
        [Identity.contact_id.remove(), Identity.blocked.set(False)],
        Identity.contact_id == contact_id,
    )


def _conversation_ids(workspace_id: str, identity_id: str) -> list[str]:
    links = IdentityConversation.query(
        Identity.pk_for(workspace_id, identity_id),
        IdentityConversation.sk.startswith("CONV#"),
        consistent_read=True,
    )
    return [link.conversation_id for link in links if isinstance(link, IdentityConversation)]


def _set_conversations_contact(
    workspace_id: str,
    identity_id: str,
    contact_id: str | None,
    *,
    previous: str | None = None,
    conversation_ids: list[str] | None = None,
) -> list[str]:
    """Every conversation of the identity (direct and per-post comments) shows its contact; ingestion
    copies the identity's contact into conversations opened later. Idempotent."""
    if conversation_ids is None:
        conversation_ids = _conversation_ids(workspace_id, identity_id)
    for conversation_id in conversation_ids:
        conversation = Conversation(*Conversation.key(workspace_id, conversation_id))
        action: Any
        condition: Condition
        if contact_id is None:
            action = Conversation.contact_id.remove()
            condition = Conversation.contact_id == previous  # never clear someone else's newer link
        else:
            action = Conversation.contact_id.set(contact_id)
            condition = Conversation.pk.exists()
        try:
            conversation.update(actions=[action], condition=condition)
        except UpdateError as error:
            if not condition_failed(error):
                raise
    return conversation_ids


LinkAnnounce = Callable[[Contact, str], list[DomainEvent]]  # the contact as written, created | linked


def _link(
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
        contact = _new_contact(workspace_id, actor, source=identity.platform)
        _apply_fields(contact, new_fields, _Inputs(workspace_id), actor)
        _attach(contact, identity)
        try:
            events = _commit(
                None,
                contact,
                actor,
                [_link_write(identity, contact)],
                partial(_with_outcome, announce, "created"),
            )
        except _IdentityTaken:
            raise _identity_conflict(workspace_id, identity.identity_id) from None
        except _Stale:
            raise Conflict("Could not create the contact; try again") from None
        return contact, "created", events

    assert contact_id is not None

    def attempt() -> tuple[Contact, str, list[DomainEvent]]:
        before = get_contact(workspace_id, contact_id)
        after = _clone(before)
        _attach(after, identity)
        try:
            events = _commit(
                before,
                after,
                actor,
                [_link_write(identity, after)],
                partial(_with_outcome, announce, "linked"),
            )
        except _IdentityTaken:
            current = _get_identity(workspace_id, identity.identity_id).contact_id
            if current == contact_id:  # a concurrent identical request won
                return get_contact(workspace_id, contact_id), "unchanged", []
            raise _identity_conflict(workspace_id, identity.identity_id) from None
        return after, "linked", events

    return _retrying(attempt)


def _with_outcome(announce: LinkAnnounce, outcome: str, written: Contact) -> list[DomainEvent]:
    return announce(written, outcome)


def _identity_conflict(workspace_id: str, identity_id: str) -> Conflict:
    holder = _get_identity(workspace_id, identity_id).contact_id
    return Conflict("This sender is already linked to another contact", {"contact_id": holder})


def _after_link(
    workspace_id: str, identity: Identity, contact: Contact, conversation_ids: list[str] | None = None
) -> list[str]:
    conversation_ids = _set_conversations_contact(
        workspace_id, identity.identity_id, contact.contact_id, conversation_ids=conversation_ids
    )
    if contact.blocked:
        _hide_conversations(workspace_id, conversation_ids)
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
    conversation = _get_conversation(workspace_id, conversation_id)
    identity = _get_identity(workspace_id, conversation.identity_id)
    conversation_ids = _conversation_ids(workspace_id, identity.identity_id)
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
                _event(
                    workspace_id, "ContactCreated", written, actor, cause, source=written.source, **link_data
                )
            )
        cause = f"{written.contact_id}:{identity.identity_id}:{written.version}"
        events.append(_event(workspace_id, "ContactAssociated", written, actor, cause, **link_data))
        return events

    contact, outcome, events = _link(workspace_id, identity, contact_id, new_contact, actor, announce)
    _after_link(workspace_id, identity, contact, conversation_ids)  # also repairs a half-done link
    _announce(events)
    # answer with what the sweep wrote rather than reading the conversation again
    conversation.contact_id = contact.contact_id
    if contact.blocked:
        conversation.hidden = True
        conversation.status = "closed"
    return LinkResult(contact, conversation, created=outcome == "created")


def unlink_conversation(workspace_id: str, conversation_id: str, actor: Actor) -> Conversation:
    """Remove the sender's channel identity from its contact; the history stays with the identity."""
    conversation = _get_conversation(workspace_id, conversation_id)
    identity = _get_identity(workspace_id, conversation.identity_id)
    contact_id = identity.contact_id
    if contact_id is None:
        raise Conflict("This conversation's sender is not linked to a contact")
    conversation_ids = _conversation_ids(workspace_id, identity.identity_id)

    def announce(written: Contact) -> list[DomainEvent]:
        cause = f"{contact_id}:{identity.identity_id}:{written.version}"
        data = {
            "identity_id": identity.identity_id,
            "channel": identity.platform,
            "conversation_ids": conversation_ids,
        }
        return [_event(workspace_id, "ContactUnlinked", written, actor, cause, **data)]

    def attempt() -> tuple[Contact, list[DomainEvent]]:
        before = get_contact(workspace_id, contact_id)
        if before.blocked:
            raise Conflict("Unblock the contact before removing its channels", {"contact_id": contact_id})
        after = _clone(before)
        after.identities = [
            ref for ref in before.identities or [] if ref.identity_id != identity.identity_id
        ] or None
        number = canonical_phone(identity.phone) if identity.phone else None
        if identity.platform == "whatsapp" and after.whatsapp_phone in (number, identity.phone):
            after.whatsapp_phone = None  # its WhatsApp phone was this channel's; the primary phone stays
        try:
            _check_identified(after)
        except InvalidFields:
            raise Conflict(
                "Without this channel the contact has no phone, email or channel to identify it: "
                "add a phone or an email first, or delete the contact",
                {"contact_id": contact_id},
            ) from None
        try:
            events = _commit(
                before,
                after,
                actor,
                [_unlink_write(workspace_id, identity.identity_id, contact_id)],
                announce,
            )
        except _IdentityTaken:
            raise _Stale from None
        return after, events

    _, events = _retrying(attempt)
    _set_conversations_contact(
        workspace_id, identity.identity_id, None, previous=contact_id, conversation_ids=conversation_ids
    )
    _announce(events)
    conversation.contact_id = None
    return conversation


# ------------------------------------------------------------------ WhatsApp auto-link


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
        conversation_ids = _conversation_ids(workspace_id, identity.identity_id)

        def announce(written: Contact, outcome: str) -> list[DomainEvent]:
            cause = f"{written.contact_id}:{identity.identity_id}:{written.version}"
            data = {
                "identity_id": identity.identity_id,
                "channel": "whatsapp",
                "conversation_ids": conversation_ids,
                "automatic": True,
            }
            return [_event(workspace_id, "ContactAssociated", written, actor, cause, **data)]

        contact, _, events = _link(workspace_id, identity, candidate.contact_id, None, actor, announce)
        _after_link(workspace_id, identity, contact, conversation_ids)
    except DomainError as error:
        logger.warning(
            "whatsapp auto-link refused", extra={"identity_id": identity.identity_id, "error": str(error)}
        )
        return []
    identity.contact_id = contact.contact_id
    identity.blocked = bool(contact.blocked)
    return events


def oldest_first(workspace_id: str, contact_ids: Iterable[str]) -> list[Contact]:
    """The contacts that exist and are not deleted, oldest first by creation time: ids minted
    before ids were time-ordered do not say which contact is older."""
    keys = [Contact.key(workspace_id, contact_id) for contact_id in dict.fromkeys(contact_ids)]
    found = [item for item in Contact.batch_get(keys, consistent_read=True) if isinstance(item, Contact)]
    return sorted(
        (contact for contact in found if not contact.deleted),
        key=lambda contact: (contact.created_at or datetime.max.replace(tzinfo=UTC), contact.contact_id),
    )


# ------------------------------------------------------------------ block / unblock


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
            for conversation_id in _conversation_ids(workspace_id, ref.identity_id)
        ]

        def announce(written: Contact) -> list[DomainEvent]:
            cause = f"{contact_id}:{written.version}"
            return [_event(workspace_id, name, written, actor, cause, conversation_ids=conversation_ids)]

        after = _clone(before)
        after.blocked = blocked
        after.blocked_at = utcnow() if blocked else None
        after.blocked_by = actor.user_id if blocked else None
        writes = [
            _IdentityWrite(
                Identity(*Identity.key(workspace_id, ref.identity_id)),
                [Identity.blocked.set(blocked)],
                Identity.contact_id == contact_id,
            )
            for ref in before.identities or []
        ]
        try:
            events = _commit(before, after, actor, writes, announce)
        except _IdentityTaken:
            raise _Stale from None  # an identity was unlinked meanwhile: read again
        return after, conversation_ids, events

    contact, conversation_ids, events = _retrying(attempt)
    if not events:
        return contact
    if blocked:
        _hide_conversations(workspace_id, conversation_ids)
    else:
        _show_conversations(workspace_id, conversation_ids)
    _announce(events)
    return contact


def _hide_conversations(workspace_id: str, conversation_ids: list[str]) -> None:
    for conversation_id in conversation_ids:
        conversation = Conversation(*Conversation.key(workspace_id, conversation_id))
        conversation.hidden = True
        conversation.status = "closed"
        actions = [
            Conversation.hidden.set(True),
            Conversation.status.set("closed"),
            *reindex_actions(conversation),
        ]
        conversation.update(actions=actions, condition=Conversation.pk.exists())


def _show_conversations(workspace_id: str, conversation_ids: list[str]) -> None:
    keys = [Conversation.key(workspace_id, conversation_id) for conversation_id in conversation_ids]
    for conversation in Conversation.batch_get(keys, consistent_read=True):
        if isinstance(conversation, Conversation):
            _show_conversation(conversation)


def _show_conversation(conversation: Conversation) -> None:
    """Its inbox keys depend on status and activity: written on condition that they are the ones
    we read, so a message landing meanwhile (ingestion moves both) makes us read again."""
    current: Conversation | None = conversation
    for _ in range(_MAX_ATTEMPTS):
        if current is None or not current.hidden:
            return
        current.hidden = False
        actions = [Conversation.hidden.set(False), *reindex_actions(current)]
        condition = (Conversation.status == current.status) & (
            Conversation.last_activity_at == current.last_activity_at
        )
        try:
            current.update(actions=actions, condition=condition)
            return
        except UpdateError as error:
            if not condition_failed(error):
                raise
        current = _get_conversation(current.workspace_id, current.conversation_id)


# ------------------------------------------------------------------ tags


def add_tag(workspace_id: str, contact_id: str, tag_id: str, actor: Actor) -> Contact:
    tag = get_tag(workspace_id, tag_id)
    contact, events = _retrying(
        lambda: _change_tag(workspace_id, contact_id, tag_id, tag.name, actor, add=True)
    )
    _announce(events)
    return contact


def remove_tag(workspace_id: str, contact_id: str, tag_id: str, actor: Actor) -> Contact:
    contact, events = _retrying(lambda: _change_tag(workspace_id, contact_id, tag_id, None, actor, add=False))
    _announce(events)
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
            _, events = _retrying(
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
    _announce(announced)
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
    after = _clone(before)
    after.tags = [*tags, tag_id] if add else [tag for tag in tags if tag != tag_id] or None
    name = "TagAdded" if add else "TagRemoved"
    events = _commit(
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
    return _event(workspace_id, name, contact, actor, cause, tag_id=tag_id, tag_name=tag_name)


# ------------------------------------------------------------------ for other modules


def refresh_identity(workspace_id: str, identity_id: str) -> Contact | None:
    """Copy an identity's current profile (username, phone, name, picture) onto its contact, and
    with it the Instagram username lookup. For profile enrichment to call when the profile arrives
    after the sender was linked. Idempotent; None when the identity has no (live) contact."""
    try:
        identity = _get_identity(workspace_id, identity_id)
    except NotFound:
        return None
    contact_id = identity.contact_id
    if contact_id is None:
        return None

    def attempt() -> Contact:
        before = get_contact(workspace_id, contact_id)
        if not any(ref.identity_id == identity_id for ref in before.identities or []):
            return before
        after = _clone(before)
        after.identities = [
            _identity_ref(identity) if ref.identity_id == identity_id else ref
            for ref in before.identities or []
        ]
        _fill_from_channel(after, identity)
        if _changed_fields(before, after):
            _commit(before, after, Actor("system"))
        return after

    try:
        return _retrying(attempt)
    except NotFound:
        return None


def find_contact_for_identity(identity: Identity) -> Contact | None:
    """The live contact an identity belongs to (one GetItem), or None."""
    if not identity.contact_id:
        return None
    try:
        return get_contact(identity.workspace_id, identity.contact_id)
    except NotFound:
        return None
