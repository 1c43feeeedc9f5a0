"""Request and response bodies of media uploads."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from inbox_crm.http.schemas import Strict, Text


class UploadIn(Strict):
    filename: Annotated[Text, Field(min_length=1, max_length=200)]
    content_type: Annotated[str, Field(pattern=r"^[a-z]+/[a-z0-9.+-]+$", max_length=100)]
    data: Annotated[str, Field(min_length=4, max_length=7_000_000, description="The file, base64")]


class UploadOut(BaseModel):
    id: str
    url: str = Field(description="Use it as an attachment url; valid 7 days")
    type: Literal["image", "video", "audio", "file"]
    filename: str
    size: int
