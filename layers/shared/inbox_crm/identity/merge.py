"""Merging two contacts, and undoing it (docs/MERGE.md).

A merge is a soft merge with a journal. ONE TransactWriteItems holds: the survivor (at the version
read: its merged values), the absorbed contact (at the version read: ``merged_into``), the Merge
record (the history item and the journal: both contacts' complete previous items, the survivor it
wrote, the identities moved and their conversations), each moved identity (condition: still the
absorbed contact's), and every index entry that changes (the survivor's difference, all of the
absorbed contact's removed). A concurrent edit, link, block or merge of either contact makes it write
nothing; it is re-read and re-decided. The conversations' denormalised ``contact_id`` follows in
idempotent updates (status ``moving`` until done); a repeated request or an undo completes a merge
left ``moving``.

Undo is the mirror transaction, allowed only when it can be exact: both contacts and every moved
identity still as the merge left them. Otherwise 409 naming the records and fields, nothing written.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from pynamodb.exceptions import PynamoDBException, TransactWriteError, UpdateError

from inbox_crm.contacts.index import IndexChanges, changes, contact_phones, index_items
from inbox_crm.contacts.records import (
    MAX_EMAILS,
    MAX_IDENTITIES,
    MAX_SECONDARY_PHONES,
    MAX_TAGS_PER_CONTACT,
    Actor,
    _announce,
    _conversation_ids,
    _event,
)
from inbox_crm.contacts.values import InvalidFields, country_of, looks_like_id
from inbox_crm.core.errors import Conflict, Forbidden, NotFound
from inbox_crm.core.ids import new_id
from inbox_crm.core.observability import logger
from inbox_crm.core.timeutil import utcnow
from inbox_crm.events.outbox import DomainEvent, stage
from inbox_crm.identity import suggestions
from inbox_crm.store.cursor import decode_cursor, encode_cursor
from inbox_crm.store.models import Consent, Contact, Conversation, Identity, Merge
from inbox_crm.store.transactions import TransactionConflict, condition_failed, transaction

MERGEABLE_FIELDS = (
    "first_name",
    "last_name",
    "display_name",
    "profile_pic_url",
    "primary_phone",
    "whatsapp_phone",
    "country",
    "language",
    "company",
    "assignee_id",
    "consent",
)
_MAX_TRANSACTION_ITEMS = 100
_ATTEMPTS = 4
# What an undo does not compare or restore as it was: the concurrency counter and the write stamp.
BOOKKEEPING = frozenset({"version", "updated_at", "updated_by"})


@dataclass(frozen=True)
class MergeResult:
    merge: Merge
    survivor: Contact


class _Retry(Exception):
    pass


# ------------------------------------------------------------------ reads


def get_merge(workspace_id: str, merge_id: str) -> Merge:
    if not looks_like_id(merge_id):
        raise NotFound("No such merge")
    try:
        return Merge.get(*Merge.key(workspace_id, merge_id), consistent_read=True)
    except Merge.DoesNotExist:
        raise NotFound("No such merge") from None


def list_merges(workspace_id: str, limit: int, cursor: str | None) -> tuple[list[Merge], str | None]:
    """The history, newest first: one Query (merge ids are time-ordered)."""
    partition = Merge.partition(workspace_id)
    start = decode_cursor(cursor, partition_attribute="pk", partition_value=partition)
    result = Merge.query(
        partition,
        Merge.sk.startswith("MERGE#"),
        scan_index_forward=False,
        consistent_read=True,
        limit=limit,
        page_size=limit,
        last_evaluated_key=start,
    )
    items = [item for item in result if isinstance(item, Merge)]
    return items, encode_cursor(result.last_evaluated_key)


def _read(workspace_id: str, contact_id: str) -> Contact:
    if not looks_like_id(contact_id):
        raise NotFound("No such contact", {"contact_id": contact_id})
    try:
        return Contact.get(*Contact.key(workspace_id, contact_id), consistent_read=True)
    except Contact.DoesNotExist:
        raise NotFound("No such contact", {"contact_id": contact_id}) from None


def _clone(contact: Contact) -> Contact:
    return Contact.from_raw_data(contact.serialize())


def _dump(contact: Contact) -> str:
    return json.dumps(contact.serialize(), sort_keys=True)


def _load(raw: str) -> Contact:
    return Contact.from_raw_data(json.loads(raw))


def comparable(contact: Contact) -> dict[str, Any]:
    """A contact's item without bookkeeping: what undo restores exactly."""
    return {name: value for name, value in contact.serialize().items() if name not in BOOKKEEPING}


def _differing(first: Contact, second: Contact) -> list[str]:
    one, two = comparable(first), comparable(second)
    return sorted(name for name in set(one) | set(two) if one.get(name) != two.get(name))


# ------------------------------------------------------------------ merging values


def validate_choices(fields: dict[str, str] | None) -> dict[str, str]:
    choices = dict(fields or {})
    errors = []
    for name, side in choices.items():
        known = name in MERGEABLE_FIELDS or (name.startswith("custom_fields.") and len(name) > 14)
        if not known:
            errors.append({"loc": ["fields", name], "msg": "not a mergeable field", "type": "unknown"})
        elif side not in ("survivor", "other"):
            errors.append({"loc": ["fields", name], "msg": "survivor or other", "type": "choice"})
    if errors:
        raise InvalidFields(errors)
    return choices


def merged_values(survivor: Contact, other: Contact, choices: dict[str, str]) -> Contact:
    """The survivor keeps its values and fills gaps from the other; a per-field "other" takes the
    other's value when it has one. Phones, emails, identities, tags and custom fields are united:
    a phone that is not the chosen primary or WhatsApp phone becomes a secondary phone."""
    after = _clone(survivor)

    def pick(name: str) -> Any:
        mine, theirs = getattr(survivor, name), getattr(other, name)
        if choices.get(name) == "other" and theirs is not None:
            return theirs
        return mine if mine is not None else theirs

    for name in ("first_name", "last_name", "display_name", "profile_pic_url", "language", "company"):
        setattr(after, name, pick(name))
    after.assignee_id = pick("assignee_id")
    consent = pick("consent")
    after.consent = Consent(**consent.as_dict()) if consent is not None else None
    after.primary_phone = pick("primary_phone")
    after.whatsapp_phone = pick("whatsapp_phone")
    everything = [phone for phone, _ in contact_phones(survivor)] + [
        phone for phone, _ in contact_phones(other)
    ]
    after.secondary_phones = [
        phone
        for phone in dict.fromkeys(everything)
        if phone not in (after.primary_phone, after.whatsapp_phone)
    ] or None
    after.emails = list(dict.fromkeys([*(survivor.emails or []), *(other.emails or [])])) or None
    after.tags = list(dict.fromkeys([*(survivor.tags or []), *(other.tags or [])])) or None
    mine = survivor.custom_fields.as_dict() if survivor.custom_fields else {}
    theirs = other.custom_fields.as_dict() if other.custom_fields else {}
    custom = {**theirs, **mine}
    for name, side in choices.items():
        key = name.removeprefix("custom_fields.")
        if name.startswith("custom_fields.") and side == "other" and key in theirs:
            custom[key] = theirs[key]
    after.custom_fields = custom or None
    after.identities = [*(survivor.identities or []), *(other.identities or [])] or None
    wanted = choices.get("country") == "other" or survivor.country is None
    if wanted and other.country is not None:
        after.country, after.country_manual = other.country, other.country_manual
    if not after.country_manual:
        after.country = country_of(after.primary_phone)
    return after


def _refusals(survivor: Contact, other: Contact, after: Contact) -> None:
    for contact, role in ((survivor, "survivor"), (other, "other")):
        state = (
            "deleted"
            if contact.deleted
            else "merged"
            if contact.merged_into
            else "blocked"
            if contact.blocked
            else None
        )
        if state:
            hint = " (unblock it first)" if state == "blocked" else ""
            raise Conflict(
                f"The {role} contact is {state}{hint}",
                {"contact_id": contact.contact_id, "state": state, "merged_into": contact.merged_into},
            )
    conflicts = [
        {
            "channel": mine.platform,
            "account_id": mine.account_id,
            "identity_ids": [mine.identity_id, theirs.identity_id],
        }
        for mine in survivor.identities or []
        for theirs in other.identities or []
        if mine.platform == theirs.platform
        and mine.account_id == theirs.account_id
        and mine.external_id != theirs.external_id
    ]
    if conflicts:
        raise Conflict(
            "Both contacts have a different sender on the same channel account: they are likely two "
            "people, so they are not merged",
            {"conflicting_identities": conflicts},
        )
    limits: list[tuple[str, list[Any] | None, int]] = [
        ("emails", after.emails, MAX_EMAILS),
        ("secondary_phones", after.secondary_phones, MAX_SECONDARY_PHONES),
        ("identities", after.identities, MAX_IDENTITIES),
        ("tags", after.tags, MAX_TAGS_PER_CONTACT),
    ]
    over = [
        {"field": name, "count": len(values or []), "max": most}
        for name, values, most in limits
        if len(values or []) > most
    ]
    if over:
        raise Conflict(
            "Together the contacts exceed a limit; remove some values first (a merge drops nothing)",
            {"limits": over},
        )


# ------------------------------------------------------------------ merge


def merge_contacts(
    workspace_id: str,
    survivor_id: str,
    other_id: str,
    actor: Actor,
    fields: dict[str, str] | None = None,
    suggestion_id: str | None = None,
) -> MergeResult:
    """Merge other_id into survivor_id. Safe under concurrent edits and merges of either contact."""
    if survivor_id == other_id:
        raise Conflict("A contact cannot be merged with itself", {"contact_id": survivor_id})
    choices = validate_choices(fields)
    for _ in range(_ATTEMPTS):
        survivor, other = _read(workspace_id, survivor_id), _read(workspace_id, other_id)
        if other.merged_into == survivor_id and other.merge_id:
            merge = get_merge(workspace_id, other.merge_id)
            if merge.status == "moving":  # a crashed or concurrent identical request: complete it
                _finish(merge)
                return MergeResult(merge, _read(workspace_id, survivor_id))
        after = merged_values(survivor, other, choices)
        _refusals(survivor, other, after)
        try:
            merge = _commit_merge(workspace_id, survivor, other, after, choices, actor, suggestion_id)
        except _Retry:
            continue
        break
    else:
        raise Conflict("The contacts are being changed by someone else; try again")
    event = _merged_event(merge, after, actor)
    _finish(merge, event)
    _refresh(workspace_id, [survivor_id, other_id])
    _announce([event])
    return MergeResult(merge, after)


def _merged_event(merge: Merge, survivor: Contact, actor: Actor) -> DomainEvent:
    data = {
        "merge_id": merge.merge_id,
        "survivor_id": merge.survivor_id,
        "absorbed_id": merge.absorbed_id,
        "identity_ids": list(merge.identity_ids or []),
        "conversation_ids": list(merge.conversation_ids or []),
    }
    return _event(merge.workspace_id, "ContactsMerged", survivor, actor, f"{merge.merge_id}:merged", **data)


def _commit_merge(
    workspace_id: str,
    survivor: Contact,
    other: Contact,
    after: Contact,
    choices: dict[str, str],
    actor: Actor,
    suggestion_id: str | None,
) -> Merge:
    now = utcnow()
    merge_id = new_id("mrg")
    absorbed = _clone(other)
    absorbed.merged_into = survivor.contact_id
    absorbed.merge_id = merge_id
    for contact in (after, absorbed):
        contact.updated_at = now
        contact.updated_by = actor.user_id
    identity_ids = [ref.identity_id for ref in other.identities or []]
    conversation_ids = [
        cid for identity_id in identity_ids for cid in _conversation_ids(workspace_id, identity_id)
    ]
    merge = Merge(
        *Merge.key(workspace_id, merge_id),
        workspace_id=workspace_id,
        merge_id=merge_id,
        survivor_id=survivor.contact_id,
        absorbed_id=other.contact_id,
        status="moving",
        by=actor.user_id,
        suggestion_id=suggestion_id,
        fields=choices or None,
        survivor_before=_dump(survivor),
        absorbed_before=_dump(other),
        survivor_version=int(survivor.version) + 1,
        absorbed_version=int(other.version) + 1,
        identity_ids=identity_ids or None,
        conversation_ids=conversation_ids or None,
        created_at=now,
    )
    snapshot = _clone(after)
    snapshot.version = merge.survivor_version
    merge.survivor_after = _dump(snapshot)
    index = _index_changes([(index_items(survivor), index_items(after)), (index_items(other), {})])
    moves = [
        (
            identity_id,
            [Identity.contact_id.set(survivor.contact_id), Identity.blocked.set(False)],
            other.contact_id,
        )
        for identity_id in identity_ids
    ]
    _write(workspace_id, [after, absorbed], merge, None, moves, index)
    return merge


def _index_changes(pairs: list[tuple[dict[Any, Any], dict[Any, Any]]]) -> IndexChanges:
    puts, deletes = [], []
    for before, after in pairs:
        change = changes(before, after)
        puts += change.puts
        deletes += change.deletes
    return IndexChanges(puts=puts, deletes=deletes)


def _write(
    workspace_id: str,
    contacts: list[Contact],
    new_merge: Merge | None,
    merge_update: Any,
    moves: list[tuple[str, list[Any], str]],
    index: IndexChanges,
    events: list[DomainEvent] | None = None,
) -> None:
    total = len(contacts) + 1 + len(moves) + len(index) + len(events or [])
    if total > _MAX_TRANSACTION_ITEMS:
        raise Conflict(
            "These contacts have too many search entries to change in one step; remove some values first",
            {"items": total, "max": _MAX_TRANSACTION_ITEMS},
        )
    try:
        with transaction() as tx:
            for contact in contacts:
                tx.save(contact)  # pynamodb: version is the one we read, then incremented
            if new_merge is not None:
                tx.save(new_merge, condition=Merge.pk.does_not_exist())
            if merge_update is not None:
                merge, actions, condition = merge_update
                tx.update(merge, actions=actions, condition=condition)
            for identity_id, actions, holder in moves:
                identity = Identity(*Identity.key(workspace_id, identity_id))
                tx.update(identity, actions=actions, condition=Identity.contact_id == holder)
            for item in index.puts:
                tx.save(item)
            for item in index.deletes:
                tx.delete(item)
            stage(tx, events or [])
    except TransactionConflict as conflict:
        raise _Retry from conflict
    except TransactWriteError as error:
        if any(
            reason and reason.code == "TransactionConflict" for reason in error.cancellation_reasons or []
        ):
            raise _Retry from error
        raise


def _move_conversations(workspace_id: str, identity_ids: list[str], contact_id: str) -> list[str]:
    """Every conversation of the identities (also ones opened since) shows the contact. Idempotent."""
    moved = []
    for identity_id in identity_ids:
        for conversation_id in _conversation_ids(workspace_id, identity_id):
            conversation = Conversation(*Conversation.key(workspace_id, conversation_id))
            try:
                conversation.update(
                    actions=[Conversation.contact_id.set(contact_id)], condition=Conversation.pk.exists()
                )
            except UpdateError as error:
                if not condition_failed(error):
                    raise
            moved.append(conversation_id)
    return moved


def _finish(merge: Merge, event: DomainEvent | None = None) -> None:
    """Moving -> done, committing ContactsMerged with it (the outbox): a merge completed after a crash
    announces itself too, from what its journal recorded."""
    _move_conversations(merge.workspace_id, list(merge.identity_ids or []), merge.survivor_id)
    if event is None:
        survivor = _load(merge.survivor_after)
        survivor.version = merge.survivor_version
        event = _merged_event(merge, survivor, Actor(merge.by))
    try:
        with transaction() as tx:
            tx.update(merge, actions=[Merge.status.set("done")], condition=Merge.status == "moving")
            stage(tx, [event])
    except TransactionConflict:
        pass  # finished by someone else, with its event
    merge.status = "done"


def _refresh(workspace_id: str, contact_ids: list[str]) -> None:
    for contact_id in contact_ids:
        try:
            suggestions.refresh_contact(workspace_id, contact_id)
        except PynamoDBException:
            logger.exception("merge suggestions not refreshed", extra={"contact_id": contact_id})


# ------------------------------------------------------------------ undo


def undo_merge(workspace_id: str, merge_id: str, actor: Actor, *, may_undo_others: bool) -> MergeResult:
    """Restore both contacts as they were before the merge, each identity and conversation back
    where it belonged. 409 (nothing written) when later changes make an exact undo impossible."""
    merge = get_merge(workspace_id, merge_id)
    if merge.by != actor.user_id and not may_undo_others:
        raise Forbidden(
            "Only owners and managers may undo a merge made by someone else",
            {"merge_id": merge_id, "by": merge.by},
        )
    if merge.status == "undone":
        raise Conflict("This merge was already undone", {"merge_id": merge_id})
    if merge.status == "moving":
        _finish(merge)
    survivor = _read(workspace_id, merge.survivor_id)
    absorbed = _read(workspace_id, merge.absorbed_id)
    _check_undoable(merge, survivor, absorbed)
    survivor_before, absorbed_before = _load(merge.survivor_before), _load(merge.absorbed_before)
    now = utcnow()
    restored = []
    for before, current in ((survivor_before, survivor), (absorbed_before, absorbed)):
        back = _clone(before)
        back.version = current.version
        back.updated_at = now
        back.updated_by = actor.user_id
        restored.append(back)
    identity_ids = list(merge.identity_ids or [])
    moves = [
        (
            identity_id,
            [Identity.contact_id.set(merge.absorbed_id), Identity.blocked.set(bool(absorbed_before.blocked))],
            merge.survivor_id,
        )
        for identity_id in identity_ids
    ]
    index = _index_changes(
        [(index_items(survivor), index_items(restored[0])), ({}, index_items(restored[1]))]
    )
    update = (
        merge,
        [Merge.status.set("undone"), Merge.undone_at.set(now), Merge.undone_by.set(actor.user_id)],
        Merge.status == "done",
    )
    data = {
        "merge_id": merge_id,
        "survivor_id": merge.survivor_id,
        "absorbed_id": merge.absorbed_id,
        "identity_ids": identity_ids,
    }
    written = _clone(restored[0])
    written.version = (written.version or 0) + 1  # what the write below makes it
    events = [_event(workspace_id, "ContactsUnmerged", written, actor, f"{merge_id}:unmerged", **data)]
    try:
        _write(workspace_id, restored, None, update, moves, index, events)
    except _Retry:
        raise Conflict(
            "The contacts changed while undoing; nothing was undone, look again and retry",
            {"merge_id": merge_id},
        ) from None
    merge.status, merge.undone_at, merge.undone_by = "undone", now, actor.user_id
    _move_conversations(workspace_id, identity_ids, merge.absorbed_id)
    _refresh(workspace_id, [merge.survivor_id, merge.absorbed_id])
    _announce(events)
    return MergeResult(merge, restored[0])


def _check_undoable(merge: Merge, survivor: Contact, absorbed: Contact) -> None:
    problems: list[dict[str, Any]] = []
    if survivor.deleted or survivor.merged_into:
        reason = (
            "deleted since the merge" if survivor.deleted else f"merged into {survivor.merged_into} since"
        )
        problems.append({"record": "contact", "id": survivor.contact_id, "reason": reason})
    elif survivor.version != merge.survivor_version and (
        changed := _differing(_load(merge.survivor_after), survivor)
    ):
        problems.append(
            {
                "record": "contact",
                "id": survivor.contact_id,
                "fields": changed,
                "reason": "the merged contact was edited after the merge: undoing would lose those edits",
            }
        )
    if absorbed.merged_into != merge.survivor_id or absorbed.merge_id != merge.merge_id:
        problems.append(
            {"record": "contact", "id": absorbed.contact_id, "reason": "no longer merged by this merge"}
        )
    elif absorbed.version != merge.absorbed_version:
        problems.append({"record": "contact", "id": absorbed.contact_id, "reason": "changed since the merge"})
    identity_ids = list(merge.identity_ids or [])
    if identity_ids:
        keys = [Identity.key(merge.workspace_id, identity_id) for identity_id in identity_ids]
        holders = {
            item.identity_id: item.contact_id
            for item in Identity.batch_get(keys, consistent_read=True)
            if isinstance(item, Identity)
        }
        for identity_id in identity_ids:
            if holders.get(identity_id) != merge.survivor_id:
                problems.append(
                    {
                        "record": "identity",
                        "id": identity_id,
                        "reason": "unlinked or linked elsewhere since the merge",
                        "contact_id": holders.get(identity_id),
                    }
                )
    if problems:
        raise Conflict(
            "This merge can no longer be undone exactly; nothing was changed",
            {"merge_id": merge.merge_id, "problems": problems},
        )


# ------------------------------------------------------------------ accepting a suggestion


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
    from inbox_crm.contacts import records as contacts

    suggestion = suggestions.get_suggestion(workspace_id, suggestion_id)
    if suggestion.kind == "shared_value":
        pair = sorted(suggestion.contact_ids)
        # The default survivor is the older contact by creation time, never by id order.
        oldest = contacts.oldest_first(workspace_id, pair) if survivor_id is None else []
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
        return Accepted("already_done", contacts.get_contact(workspace_id, target))
    if identity.contact_id is None:
        linked = contacts.link_conversation(
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
