"""Bodies of POST /v1/contacts/bulk."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from inbox_crm.contacts.schemas import Id
from inbox_crm.http.schemas import Strict


class BulkFilter(Strict):
    q: Annotated[str | None, Field(max_length=100)] = None
    tag: Id | None = None
    blocked: bool | None = None


class BulkContactsIn(Strict):
    action: Literal["tag", "untag", "block", "unblock", "delete"]
    tag_id: Id | None = Field(None, description="The tag, for tag / untag")
    contact_ids: Annotated[list[Id], Field(min_length=1, max_length=100)] | None = Field(
        None, description="These contacts (one call)"
    )
    filter: BulkFilter | None = Field(
        None, description="Every contact the list filter matches, one page of 100 per call"
    )
    cursor: Annotated[str | None, Field(max_length=2048)] = Field(
        None, description="With filter: the next_cursor of the previous call"
    )

    @model_validator(mode="after")
    def _one_target(self) -> BulkContactsIn:
        if (self.contact_ids is None) == (self.filter is None):
            raise ValueError("send either contact_ids or filter")
        if (self.tag_id is None) == (self.action in ("tag", "untag")):
            raise ValueError("tag_id goes with tag and untag only")
        if self.cursor is not None and self.filter is None:
            raise ValueError("cursor goes with filter")
        return self


class BulkContactResult(BaseModel):
    contact_id: str
    status: Literal["done", "unchanged", "not_found", "conflict", "limit_reached"]


class BulkContactsOut(BaseModel):
    results: list[BulkContactResult]
    next_cursor: str | None = Field(None, description="With filter: call again with it; null when done")
