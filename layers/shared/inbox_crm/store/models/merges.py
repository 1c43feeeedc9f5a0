"""Contact merges, their journal, and duplicate suggestions."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from inbox_crm.store.models.base import InboxItem, ws_pk


class Merge(InboxItem, discriminator="Merge"):
    """One merge of two contacts and its journal (identity/merge.py): the history item and what undo
    needs. pk ``WS#<ws>#MERGES``, sk ``MERGE#<merge id>`` (time-ordered: one Query is the history)."""

    workspace_id = UnicodeAttribute()
    merge_id = UnicodeAttribute()
    survivor_id = UnicodeAttribute()
    absorbed_id = UnicodeAttribute()
    status = UnicodeAttribute()  # moving | done | undone
    by = UnicodeAttribute()
    suggestion_id = UnicodeAttribute(null=True)
    fields = MapAttribute[str, Any](null=True)  # the per-field choices sent
    survivor_before = UnicodeAttribute()  # JSON of the contact item before the merge
    absorbed_before = UnicodeAttribute()
    survivor_after = UnicodeAttribute()  # JSON of the survivor the merge wrote
    survivor_version = NumberAttribute()  # versions the merge wrote
    absorbed_version = NumberAttribute()
    identity_ids: ListAttribute[str] = ListAttribute(null=True)  # moved to the survivor
    conversation_ids: ListAttribute[str] = ListAttribute(null=True)  # their conversations then
    undone_at = UTCDateTimeAttribute(null=True)
    undone_by = UnicodeAttribute(null=True)

    @staticmethod
    def partition(workspace_id: str) -> str:
        return f"{ws_pk(workspace_id)}#MERGES"

    @classmethod
    def key(cls, workspace_id: str, merge_id: str) -> tuple[str, str]:
        return cls.partition(workspace_id), f"MERGE#{merge_id}"


class MergeSuggestion(InboxItem, discriminator="MergeSuggestion"):
    """A possible duplicate (identity/suggestions.py). The same item is written three times: under
    ``WS#<ws>#MSUGS`` / ``<suggestion id>`` (the workspace listing, and the canonical copy) and in each
    involved contact's partition ``WS#<ws>#CONTACT#<id>`` / ``MSUG#<suggestion id>``."""

    workspace_id = UnicodeAttribute()
    suggestion_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # shared_value | conversation_hint
    contact_ids: ListAttribute[str] = (
        ListAttribute()
    )  # the pair (a hint: the identity's contact, if any, + target)
    shared: ListAttribute[Any] = ListAttribute()  # [{kind, value, fields?, message_id?}]
    identity_id = UnicodeAttribute(null=True)  # hints: the conversation's sender
    conversation_id = UnicodeAttribute(null=True)
    target_contact_id = UnicodeAttribute(null=True)  # hints: the contact owning the value
    action = UnicodeAttribute(null=True)  # hints: associate | merge
    updated_at = UTCDateTimeAttribute(null=True)

    @staticmethod
    def workspace_partition(workspace_id: str) -> str:
        return f"{ws_pk(workspace_id)}#MSUGS"

    @classmethod
    def listing_key(cls, workspace_id: str, suggestion_id: str) -> tuple[str, str]:
        return cls.workspace_partition(workspace_id), suggestion_id

    @staticmethod
    def contact_key(workspace_id: str, contact_id: str, suggestion_id: str) -> tuple[str, str]:
        return f"{ws_pk(workspace_id)}#CONTACT#{contact_id}", f"MSUG#{suggestion_id}"


class MergeDismissal(InboxItem, discriminator="MergeDismissal"):
    """A dismissed suggestion: the pair (or hint) is never suggested again."""

    suggestion_id = UnicodeAttribute()
    by = UnicodeAttribute()

    @staticmethod
    def key(workspace_id: str, suggestion_id: str) -> tuple[str, str]:
        return f"{ws_pk(workspace_id)}#MSUG_DISMISSED#{suggestion_id}", "DISMISSED"
