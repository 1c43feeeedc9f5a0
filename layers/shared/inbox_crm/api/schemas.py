"""Request and response bodies of the HTTP API: they drive validation and the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field


def _no_lone_surrogates(value: str) -> str:
    # pydantic accepts "\ud83d" but it cannot be stored or serialised: refuse it as invalid input.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as error:
        raise ValueError("text contains an invalid unicode character") from error
    return value


Text = Annotated[str, AfterValidator(_no_lone_surrogates)]
Platform = Literal["messenger", "instagram", "whatsapp"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    loc: list[str | int] = Field(default_factory=list)
    msg: str
    type: str


class ErrorInfo(BaseModel):
    code: str
    message: str
    details: list[ErrorDetail] | dict[str, Any] | None = None


class ErrorBody(BaseModel):
    error: ErrorInfo


class UserOut(BaseModel):
    id: str
    email: str
    name: str | None = None


class WorkspaceOut(BaseModel):
    id: str
    name: str
    default_region: str
    language: str


class MeOut(BaseModel):
    user: UserOut
    workspace: WorkspaceOut
    role: str


class ChannelIn(Strict):
    platform: Platform
    account_id: Annotated[
        str, Field(pattern=r"^[0-9]{1,30}$", description="Page id, IG account id or WhatsApp phone_number_id")
    ]
    name: Annotated[Text, Field(min_length=1, max_length=120)]


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
