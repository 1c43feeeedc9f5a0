"""What every feature's API schemas share: strict request bodies, valid text, the platforms, and the
error body. Each feature's own bodies live in its schemas.py; they drive validation and the OpenAPI
document."""

from __future__ import annotations

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
