"""Request and response bodies of sending messages and broadcasts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, model_validator

from inbox_crm.http.schemas import Strict, Text


class ButtonIn(Strict):
    type: Literal["web_url", "postback"]
    title: Annotated[Text, Field(min_length=1, max_length=20)]
    url: Annotated[str | None, Field(pattern=r"^https://\S+$", max_length=2000)] = None
    payload: Annotated[Text | None, Field(min_length=1, max_length=1000)] = None

    @model_validator(mode="after")
    def _target(self) -> ButtonIn:
        if self.type == "web_url" and not self.url:
            raise ValueError("a web_url button needs a url")
        if self.type == "postback" and not self.payload:
            raise ValueError("a postback button needs a payload")
        return self


class QuickReplyIn(Strict):
    title: Annotated[Text, Field(min_length=1, max_length=20)]
    payload: Annotated[Text, Field(min_length=1, max_length=1000)]


class AttachmentIn(Strict):
    type: Literal["image", "video", "audio", "file"]
    url: Annotated[str, Field(pattern=r"^https?://\S+$", max_length=2000)]
    caption: Annotated[Text | None, Field(max_length=1024)] = None
    filename: Annotated[Text | None, Field(max_length=240)] = None


class TemplateIn(Strict):
    name: Annotated[str, Field(pattern=r"^[a-z0-9_]{1,512}$")]
    language: Annotated[str, Field(pattern=r"^[a-z]{2,3}(_[A-Z]{2})?$")] = "es"
    components: list[dict[str, Any]] | None = None


class SendIn(Strict):
    text: Annotated[Text | None, Field(max_length=4096)] = None
    attachments: Annotated[list[AttachmentIn], Field(max_length=3)] = Field(default_factory=list)
    buttons: Annotated[list[ButtonIn], Field(max_length=3)] = Field(default_factory=list)
    quick_replies: Annotated[list[QuickReplyIn], Field(max_length=13)] = Field(default_factory=list)
    template: TemplateIn | None = Field(None, description="WhatsApp template or Messenger utility template")
    send_at: datetime | None = Field(None, description="Schedule for later (ISO 8601 with time zone)")
    reply: Literal["message", "public", "private"] = Field(
        "message", description="Comment conversations: answer the comment publicly or privately"
    )
    comment_id: Annotated[str | None, Field(max_length=200)] = None
    reply_to: Annotated[
        str | None, Field(max_length=300, description="platform id of the message answered")
    ] = None

    @model_validator(mode="after")
    def _has_content(self) -> SendIn:
        if not (self.text or self.attachments or self.template):
            raise ValueError("send a text, attachments or a template")
        if self.send_at is not None and self.send_at.tzinfo is None:
            raise ValueError("send_at needs a time zone")
        return self


class BroadcastIn(Strict):
    name: Annotated[Text, Field(min_length=1, max_length=120)]
    tag_id: Annotated[str, Field(min_length=1, max_length=100)]
    channel: Literal["whatsapp", "messenger", "instagram"]
    text: Annotated[Text | None, Field(max_length=4096)] = None
    template: TemplateIn | None = None
    attachments: Annotated[list[AttachmentIn], Field(max_length=3)] = Field(default_factory=list)
    buttons: Annotated[list[ButtonIn], Field(max_length=3)] = Field(default_factory=list)
    send_at: datetime | None = None

    @model_validator(mode="after")
    def _has_content(self) -> BroadcastIn:
        if not (self.text or self.template or self.attachments):
            raise ValueError("send a text, attachments or a template")
        if self.send_at is not None and self.send_at.tzinfo is None:
            raise ValueError("send_at needs a time zone")
        return self


class ProgressOut(BaseModel):
    sent: int
    failed: int
    skipped: int


class BroadcastOut(BaseModel):
    id: str
    name: str
    tag_id: str
    channel: str
    status: Literal["scheduled", "running", "done", "cancelled"]
    send_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    created_by: str
    progress: ProgressOut


class BroadcastList(BaseModel):
    items: list[BroadcastOut]


class RecipientOut(BaseModel):
    contact_id: str
    status: str
    reason: str | None = None
    conversation_id: str | None = None
    message_id: str | None = None


class RecipientList(BaseModel):
    items: list[RecipientOut]
