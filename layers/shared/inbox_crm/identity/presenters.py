"""How merge suggestions and merges look in API answers."""

from __future__ import annotations

from inbox_crm.identity.schemas import MergeOut, SharedValueOut, SuggestionOut
from inbox_crm.store.models import Merge, MergeSuggestion


def suggestion_out(item: MergeSuggestion) -> SuggestionOut:
    return SuggestionOut(
        id=item.suggestion_id,
        kind=item.kind,  # type: ignore[arg-type]
        contact_ids=list(item.contact_ids),
        shared=[SharedValueOut.model_validate(dict(value)) for value in item.shared],
        identity_id=item.identity_id,
        conversation_id=item.conversation_id,
        target_contact_id=item.target_contact_id,
        action=item.action or "merge",  # type: ignore[arg-type]
        updated_at=item.updated_at,
    )


def merge_out(item: Merge) -> MergeOut:
    return MergeOut(
        id=item.merge_id,
        survivor_id=item.survivor_id,
        absorbed_id=item.absorbed_id,
        status=item.status,  # type: ignore[arg-type]
        by=item.by,
        created_at=item.created_at,
        fields=item.fields.as_dict() if item.fields else {},
        identity_ids=list(item.identity_ids or []),
        conversation_ids=list(item.conversation_ids or []),
        suggestion_id=item.suggestion_id,
        undone_at=item.undone_at,
        undone_by=item.undone_by,
    )
