"""Request and response bodies of merge suggestions, merges and their undo (docs/MERGE.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field

from inbox_crm.contacts.schemas import ContactOut
from inbox_crm.http.schemas import Strict

Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
Side = Literal["survivor", "other"]


class MergeIn(Strict):
    other_contact_id: Id = Field(description="The contact merged into this one (kept, soft-merged, for undo)")
    fields: dict[Annotated[str, Field(max_length=60)], Side] | None = Field(
        default=None,
        description='Per-field choice, e.g. {"first_name": "other"}; "custom_fields.<key>" for a custom '
        "field. By default the survivor keeps its values and fills gaps from the other.",
    )


class AcceptIn(Strict):
    survivor_id: Id | None = Field(
        default=None, description="shared_value: which contact survives (default: the older one)"
    )


class SharedValueOut(BaseModel):
    kind: Literal["phone", "email"]
    value: str
    message_id: str | None = None


class SuggestionOut(BaseModel):
    id: str
    kind: Literal["shared_value", "conversation_hint"]
    contact_ids: list[str]
    shared: list[SharedValueOut] = Field(description="The values marked as shared (or typed in a message)")
    identity_id: str | None = None
    conversation_id: str | None = None
    target_contact_id: str | None = None
    action: Literal["merge", "associate"] = "merge"
    updated_at: datetime | None = None


class SuggestionPage(BaseModel):
    items: list[SuggestionOut]
    next_cursor: str | None = None


class MergeOut(BaseModel):
    id: str
    survivor_id: str
    absorbed_id: str
    status: Literal["moving", "done", "undone"]
    by: str
    created_at: datetime | None = None
    fields: dict[str, str] = {}
    identity_ids: list[str] = []
    conversation_ids: list[str] = []
    suggestion_id: str | None = None
    undone_at: datetime | None = None
    undone_by: str | None = None


class MergePage(BaseModel):
    items: list[MergeOut]
    next_cursor: str | None = None


class MergeResultOut(BaseModel):
    merge: MergeOut
    contact: ContactOut


class AcceptOut(BaseModel):
    outcome: Literal["merged", "associated", "already_done"]
    merge: MergeOut | None = None
    contact: ContactOut
