"""Merge suggestions: possible duplicates, kept up to date as contacts and messages change.

Two kinds (docs/MERGE.md):

* ``shared_value`` — two live (not deleted, merged or blocked) contacts holding the same normalised
  phone (any of primary / secondary / WhatsApp) or email. Found through the lookup items
  (``WS#<ws>#LOOKUP#<kind>#<value>``): one Query per value of the contact that changed, never a scan.
* ``conversation_hint`` — a sender typed an email or phone (extraction.py) that belongs to a
  contact: associate the sender's identity with it, or merge the sender's contact into it.

Each suggestion is one item written three times (the workspace listing ``WS#<ws>#MSUGS`` and each
involved contact's partition, ``MSUG#<id>``), so both listings are one Query. Its id is a hash of
the pair (or of identity + target), so a dismissal (``MergeDismissal``, same id) keeps the pair
dismissed whatever happens later. ``refresh_contact`` recomputes one contact's suggestions from its
current state; contacts.py calls it after every write that can change them (through ``_announce``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pynamodb.exceptions import PynamoDBException

from inbox_crm.contacts.index import lookup_values
from inbox_crm.contacts.values import looks_like_id
from inbox_crm.core.errors import NotFound
from inbox_crm.core.ids import stable_id
from inbox_crm.core.observability import logger, tracer
from inbox_crm.core.timeutil import utcnow
from inbox_crm.identity.extraction import extract
from inbox_crm.store.cursor import decode_cursor, encode_cursor
from inbox_crm.store.models import Contact, ContactLookup, Identity, MergeDismissal, MergeSuggestion
from inbox_crm.workspaces.members import get_workspace

MAX_PEERS = 20  # contacts considered per value: a shared switchboard number is not 500 duplicates
_MATCH_KINDS = ("phone", "email")
# ContactUpdated changes that can change suggestions (other edits cost nothing extra)
_RELEVANT_FIELDS = frozenset({"primary_phone", "secondary_phones", "whatsapp_phone", "emails"})
_REFRESHING_EVENTS = frozenset(
    {
        "ContactCreated",
        "ContactDeleted",
        "ContactBlocked",
        "ContactUnblocked",
        "ContactAssociated",
        "ContactUnlinked",
    }
)


def pair_id(workspace_id: str, first: str, second: str) -> str:
    return stable_id("sug", workspace_id, "pair", *sorted((first, second)))


def hint_id(workspace_id: str, identity_id: str, contact_id: str) -> str:
    return stable_id("sug", workspace_id, "hint", identity_id, contact_id)


def is_live(contact: Contact | None) -> bool:
    return bool(contact and not contact.deleted and not contact.merged_into and not contact.blocked)


# ------------------------------------------------------------------ reads


def _contacts(workspace_id: str, contact_ids: Iterable[str]) -> dict[str, Contact]:
    keys = [Contact.key(workspace_id, contact_id) for contact_id in dict.fromkeys(contact_ids)]
    if not keys:
        return {}
    found = Contact.batch_get(keys, consistent_read=True)
    return {item.contact_id: item for item in found if isinstance(item, Contact)}


def _holders(workspace_id: str, kind: str, value: str) -> list[str]:
    entries = ContactLookup.query(
        ContactLookup.partition(workspace_id, kind, value),
        ContactLookup.sk.startswith("CONTACT#"),
        consistent_read=True,
        limit=MAX_PEERS + 1,
    )
    return [entry.contact_id for entry in entries if isinstance(entry, ContactLookup)][: MAX_PEERS + 1]


def _dismissed(workspace_id: str, suggestion_ids: Iterable[str]) -> set[str]:
    keys = [MergeDismissal.key(workspace_id, suggestion_id) for suggestion_id in set(suggestion_ids)]
    if not keys:
        return set()
    return {
        item.suggestion_id
        for item in MergeDismissal.batch_get(keys, consistent_read=True)
        if isinstance(item, MergeDismissal)
    }


def contact_suggestions(workspace_id: str, contact_id: str) -> list[MergeSuggestion]:
    """A contact's suggestions: one Query of its own partition."""
    items = MergeSuggestion.query(
        f"WS#{workspace_id}#CONTACT#{contact_id}",
        MergeSuggestion.sk.startswith("MSUG#"),
        consistent_read=True,
    )
    return [item for item in items if isinstance(item, MergeSuggestion)]


def list_suggestions(
    workspace_id: str, limit: int, cursor: str | None
) -> tuple[list[MergeSuggestion], str | None]:
    """The workspace's suggestions (the dashboard), one Query per page."""
    partition = MergeSuggestion.workspace_partition(workspace_id)
    start = decode_cursor(cursor, partition_attribute="pk", partition_value=partition)
    result = MergeSuggestion.query(
        partition, consistent_read=True, limit=limit, last_evaluated_key=start, page_size=limit
    )
    items = [item for item in result if isinstance(item, MergeSuggestion)]
    return items, encode_cursor(result.last_evaluated_key)


def get_suggestion(workspace_id: str, suggestion_id: str) -> MergeSuggestion:
    if not looks_like_id(suggestion_id):
        raise NotFound("No such merge suggestion")
    try:
        return MergeSuggestion.get(
            *MergeSuggestion.listing_key(workspace_id, suggestion_id), consistent_read=True
        )
    except MergeSuggestion.DoesNotExist:
        raise NotFound("No such merge suggestion") from None


# ------------------------------------------------------------------ writes


def _copies(suggestion: MergeSuggestion) -> list[MergeSuggestion]:
    workspace_id, suggestion_id = suggestion.workspace_id, suggestion.suggestion_id
    data = {
        name: getattr(suggestion, name)
        for name in MergeSuggestion.get_attributes()
        if name not in ("pk", "sk", "type")
    }
    keys = [MergeSuggestion.listing_key(workspace_id, suggestion_id)] + [
        MergeSuggestion.contact_key(workspace_id, contact_id, suggestion_id)
        for contact_id in suggestion.contact_ids
    ]
    return [MergeSuggestion(*key, **data) for key in keys]


def _put(suggestion: MergeSuggestion) -> None:
    suggestion.updated_at = utcnow()
    with MergeSuggestion.batch_write() as batch:
        for copy in _copies(suggestion):
            batch.save(copy)


def remove(suggestion: MergeSuggestion) -> None:
    with MergeSuggestion.batch_write() as batch:
        for copy in _copies(suggestion):
            batch.delete(copy)


def _same(first: MergeSuggestion, second: MergeSuggestion) -> bool:
    return bool(
        first.kind == second.kind
        and list(first.contact_ids) == list(second.contact_ids)
        and list(first.shared) == list(second.shared)
    )


@tracer.capture_method(capture_response=False)
def refresh_contact(workspace_id: str, contact_id: str) -> None:
    """Recompute the contact's shared-value suggestions (both sides of each pair) from its current
    values; a contact that is no longer live (deleted, merged, blocked) loses all its suggestions."""
    try:
        contact: Contact | None = Contact.get(*Contact.key(workspace_id, contact_id), consistent_read=True)
    except Contact.DoesNotExist:
        contact = None
    existing = {item.suggestion_id: item for item in contact_suggestions(workspace_id, contact_id)}
    desired: dict[str, MergeSuggestion] = {}
    if contact is not None and is_live(contact):
        desired = _shared_value_suggestions(workspace_id, contact)
    for suggestion_id, item in existing.items():
        stale_pair = item.kind == "shared_value" and suggestion_id not in desired
        if stale_pair or not is_live(contact):
            remove(item)
    for suggestion_id, item in desired.items():
        if suggestion_id not in existing or not _same(existing[suggestion_id], item):
            _put(item)


def _shared_value_suggestions(workspace_id: str, contact: Contact) -> dict[str, MergeSuggestion]:
    shared: dict[str, list[dict[str, Any]]] = {}
    for (kind, value), _fields in lookup_values(contact).items():
        if kind not in _MATCH_KINDS:
            continue
        for peer in _holders(workspace_id, kind, value):
            if peer != contact.contact_id:
                shared.setdefault(peer, []).append({"kind": kind, "value": value})
    peers = {
        peer_id: peer
        for peer_id, peer in _contacts(workspace_id, list(shared)[:MAX_PEERS]).items()
        if is_live(peer)
    }
    ids = {pair_id(workspace_id, contact.contact_id, peer_id): peer_id for peer_id in peers}
    dismissed = _dismissed(workspace_id, ids)
    suggestions = {}
    for suggestion_id, peer_id in ids.items():
        if suggestion_id in dismissed:
            continue
        suggestions[suggestion_id] = MergeSuggestion(
            *MergeSuggestion.listing_key(workspace_id, suggestion_id),
            workspace_id=workspace_id,
            suggestion_id=suggestion_id,
            kind="shared_value",
            contact_ids=sorted((contact.contact_id, peer_id)),
            shared=sorted(shared[peer_id], key=lambda value: (value["kind"], value["value"])),
        )
    return suggestions


def dismiss(workspace_id: str, suggestion_id: str, user_id: str) -> None:
    """Dismissed for good: the dismissal is keyed by the pair (or identity + contact)."""
    suggestion = get_suggestion(workspace_id, suggestion_id)
    MergeDismissal(
        *MergeDismissal.key(workspace_id, suggestion_id),
        suggestion_id=suggestion_id,
        by=user_id,
        created_at=utcnow(),
    ).save()
    remove(suggestion)


def after_contact_events(events: Iterable[Any]) -> None:
    """contacts.py's hook, after a write: refresh the contacts whose matching values or liveness may
    have changed. Never raises (the write is made; suggestions are derived and can be refreshed)."""
    targets: dict[tuple[str, str], None] = {}
    for event in events:
        contact_id = event.data.get("contact_id")
        if not contact_id:
            continue
        relevant = event.name in _REFRESHING_EVENTS or (
            event.name == "ContactUpdated" and _RELEVANT_FIELDS & set(event.data.get("changed") or ())
        )
        if relevant:
            targets[(event.workspace_id, contact_id)] = None
    for workspace_id, contact_id in targets:
        try:
            refresh_contact(workspace_id, contact_id)
        except PynamoDBException:
            logger.exception("merge suggestions not refreshed", extra={"contact_id": contact_id})


# ------------------------------------------------------------------ identity hints


@tracer.capture_method(capture_response=False)
def hints_from_message(
    workspace_id: str, identity_id: str, conversation_id: str, message_id: str, text: str | None
) -> list[MergeSuggestion]:
    """A message whose text holds an email or phone of a contact other than the sender's own: suggest
    associating the sender with it (sender without contact) or merging the sender's contact into it.
    Stores only the extracted normalised value and the message id."""
    if not text:
        return []
    workspace = get_workspace(workspace_id)
    values = extract(text, workspace.default_region if workspace else "MX")
    if not values:
        return []
    try:
        identity = Identity.get(*Identity.key(workspace_id, identity_id), consistent_read=True)
    except Identity.DoesNotExist:
        return []
    if identity.blocked:
        return []  # a blocked sender never triggers anything
    own = identity.contact_id
    found: dict[str, list[dict[str, Any]]] = {}
    for value in values:
        for holder in _holders(workspace_id, value.kind, value.value)[:MAX_PEERS]:
            if holder != own:
                found.setdefault(holder, []).append(
                    {"kind": value.kind, "value": value.value, "message_id": message_id}
                )
    if not found:
        return []
    targets = {cid: c for cid, c in _contacts(workspace_id, found).items() if is_live(c)}
    if own:
        own_contact = _contacts(workspace_id, [own]).get(own)
        if not is_live(own_contact):
            return []
    ids = {hint_id(workspace_id, identity_id, target): target for target in targets}
    dismissed = _dismissed(workspace_id, ids)
    written = []
    for suggestion_id, target in ids.items():
        if suggestion_id in dismissed:
            continue
        try:
            previous = get_suggestion(workspace_id, suggestion_id)
            shared = [*previous.shared]
        except NotFound:
            shared = []
        for typed in found[target]:
            if not any(old["kind"] == typed["kind"] and old["value"] == typed["value"] for old in shared):
                shared.append(typed)
        suggestion = MergeSuggestion(
            *MergeSuggestion.listing_key(workspace_id, suggestion_id),
            workspace_id=workspace_id,
            suggestion_id=suggestion_id,
            kind="conversation_hint",
            contact_ids=[own, target] if own else [target],
            shared=shared,
            identity_id=identity_id,
            conversation_id=conversation_id,
            target_contact_id=target,
            action="merge" if own else "associate",
        )
        _put(suggestion)
        written.append(suggestion)
    return written
