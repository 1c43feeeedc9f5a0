"""Request and response bodies of the caller's profile (/v1/me) and the channel routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, SecretStr

from inbox_crm.http.schemas import Platform, Strict, Text


class UserOut(BaseModel):
    id: str
    email: str
    name: str | None = None


class MemberOut(UserOut):
    role: str


class MemberList(BaseModel):
    items: list[MemberOut]


class WorkspaceOut(BaseModel):
    id: str
    name: str
    default_region: str
    language: str


class MeOut(BaseModel):
    user: UserOut
    workspace: WorkspaceOut
    role: str
    permissions: list[str] = Field(description="The actions the caller's role allows (docs/PERMISSIONS.md)")


class ChannelIn(Strict):
    platform: Platform
    account_id: Annotated[
        str, Field(pattern=r"^[0-9]{1,30}$", description="Page id, IG account id or WhatsApp phone_number_id")
    ]
    name: Annotated[Text, Field(min_length=1, max_length=120)]
    access_token: Annotated[
        SecretStr,
        Field(
            min_length=1,
            max_length=4096,
            description=(
                "A token Meta confirms can act for the account: a user or Page token with a task on the "
                "Page; for Instagram and WhatsApp one whose granted scopes include the account (WhatsApp: "
                "its WABA). Kept server-side, never returned or logged."
            ),
        ),
    ]


class ChannelOut(BaseModel):
    id: str
    platform: Platform
    account_id: str
    name: str
    status: str
    created_at: datetime | None = None
    last_webhook_at: datetime | None = None
    silent: bool = Field(description="No webhook for longer than Meta's unsubscribe horizon")


class ChannelList(BaseModel):
    items: list[ChannelOut]
