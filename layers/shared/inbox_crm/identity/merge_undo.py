"""Undoing a merge (docs/MERGE.md): the mirror transaction of merge.py, allowed only when it can be
exact: both contacts and every moved identity still as the merge left them. Otherwise 409 naming the
records and fields, nothing written."""

from __future__ import annotations

from typing import Any

from inbox_crm.contacts.actors import Actor
from inbox_crm.contacts.commit import after_events, clone, contact_event
from inbox_crm.contacts.index import index_items
from inbox_crm.core.errors import Conflict, Forbidden
from inbox_crm.core.timeutil import utcnow
from inbox_crm.identity.merge import (
    MergeResult,
    Retry,
    finish_merge,
    get_merge,
    index_changes,
    load_contact,
    move_conversations,
    read_contact,
    refresh_suggestions,
    write_merge,
)
from inbox_crm.store.models import Contact, Identity, Merge

# What an undo does not compare or restore as it was: the concurrency counter and the write stamp.
BOOKKEEPING = frozenset({"version", "updated_at", "updated_by"})


def comparable(contact: Contact) -> dict[str, Any]:
    """A contact's item without bookkeeping: what undo restores exactly."""
    return {name: value for name, value in contact.serialize().items() if name not in BOOKKEEPING}


def _differing(first: Contact, second: Contact) -> list[str]:
    one, two = comparable(first), comparable(second)
    return sorted(name for name in set(one) | set(two) if one.get(name) != two.get(name))


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
        finish_merge(merge)
    survivor = read_contact(workspace_id, merge.survivor_id)
    absorbed = read_contact(workspace_id, merge.absorbed_id)
    _check_undoable(merge, survivor, absorbed)
    survivor_before, absorbed_before = (
        load_contact(merge.survivor_before),
        load_contact(merge.absorbed_before),
    )
    now = utcnow()
    restored = []
    for before, current in ((survivor_before, survivor), (absorbed_before, absorbed)):
        back = clone(before)
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
    index = index_changes([(index_items(survivor), index_items(restored[0])), ({}, index_items(restored[1]))])
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
    written = clone(restored[0])
    written.version = (written.version or 0) + 1  # what the write below makes it
    events = [contact_event(workspace_id, "ContactsUnmerged", written, actor, f"{merge_id}:unmerged", **data)]
    try:
        write_merge(workspace_id, restored, None, update, moves, index, events)
    except Retry:
        raise Conflict(
            "The contacts changed while undoing; nothing was undone, look again and retry",
            {"merge_id": merge_id},
        ) from None
    merge.status, merge.undone_at, merge.undone_by = "undone", now, actor.user_id
    move_conversations(workspace_id, identity_ids, merge.absorbed_id)
    refresh_suggestions(workspace_id, [merge.survivor_id, merge.absorbed_id])
    after_events(events)
    return MergeResult(merge, restored[0])


def _check_undoable(merge: Merge, survivor: Contact, absorbed: Contact) -> None:
    problems: list[dict[str, Any]] = []
    if survivor.deleted or survivor.merged_into:
        reason = (
            "deleted since the merge" if survivor.deleted else f"merged into {survivor.merged_into} since"
        )
        problems.append({"record": "contact", "id": survivor.contact_id, "reason": reason})
    elif survivor.version != merge.survivor_version and (
        changed := _differing(load_contact(merge.survivor_after), survivor)
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
