"""Response bodies of the unrouted webhook deliveries (events no channel of ours claimed)."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class UnroutedOut(BaseModel):
    id: str
    reason: str
    object_type: str | None = None
    platform: str | None = None
    account_id: str | None = None
    field: str | None = None
    received_at: datetime


class UnroutedPage(BaseModel):
    items: list[UnroutedOut]
    next_cursor: str | None = None
