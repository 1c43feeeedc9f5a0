"""Request and response bodies of the HTTP API: they drive validation and the OpenAPI document."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator


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


class ReplyWindowOut(BaseModel):
    open: bool = Field(description="Whether an agent may send a free-form reply now")
    standard_until: datetime | None = Field(None, description="End of the 24-hour standard window")
    human_agent_until: datetime | None = Field(
        None, description="Messenger/Instagram: end of the 7-day HUMAN_AGENT window for agents' replies"
    )


class ConversationOut(BaseModel):
    id: str
    channel: Platform
    channel_id: str
    kind: Literal["direct", "comment"]
    status: Literal["open", "closed"]
    identity_id: str
    contact_id: str | None = Field(None, description="null while the sender is not a registered contact")
    registered: bool
    display_name: str | None = None
    handle: str | None = None
    post_id: str | None = None
    assignee_id: str | None = None
    last_preview: str | None = None
    last_activity_at: datetime
    last_inbound_at: datetime | None = None
    unread_count: int
    reply_window: ReplyWindowOut


class ConversationPage(BaseModel):
    items: list[ConversationOut]
    next_cursor: str | None = None


class AttachmentOut(BaseModel):
    type: str
    url: str | None = None
    media_id: str | None = None
    mime_type: str | None = None
    title: str | None = None
    caption: str | None = None
    filename: str | None = None
    sticker_id: str | None = None
    voice: bool | None = None
    payload: dict[str, Any] | None = None
    size: int | None = None
    download_url: str | None = Field(None, description="Our copy (WhatsApp media), valid for an hour")


class EditOut(BaseModel):
    previous_text: str | None = None
    at: datetime | None = None
    num_edit: int | None = None


class StatusChangeOut(BaseModel):
    status: str
    at: datetime | None = None
    error_code: int | str | None = None
    error_title: str | None = None
    error_message: str | None = None


class MessageOut(BaseModel):
    id: str
    conversation_id: str
    platform_message_id: str | None = None
    direction: Literal["inbound", "outbound"]
    kind: str
    origin: str | None = None
    sent_at: datetime
    text: str | None = None
    attachments: list[AttachmentOut] = Field(default_factory=list)
    reply_to: str | None = None
    reactions: dict[str, dict[str, Any]] = Field(default_factory=dict)
    edits: list[EditOut] = Field(default_factory=list)
    deleted: bool = False
    standby: bool = False
    truncated: bool = Field(False, description="Too large as sent: the text or payload was cut to fit")
    status: str | None = None
    status_history: list[StatusChangeOut] = Field(default_factory=list)
    error_code: str | None = None
    error_reason: str | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class MessagePage(BaseModel):
    items: list[MessageOut]
    next_cursor: str | None = Field(None, description="Cursor for older messages")


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
