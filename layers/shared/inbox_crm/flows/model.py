"""What a flow is: its trigger, conditions and steps, validated once (API, templates, engine alike).

A definition is plain JSON::

    {"trigger": {"type": "conversation_opened", "channel": "messenger"},
     "conditions": [{"field": "contact.first_name", "op": "is_not_set"}], "match": "all",
     "steps": [{"type": "create_contact", "add_source_tag": true},
               {"type": "decision", "conditions": [...], "then": [...], "else": [...]}]}

Steps are addressed by a path: "0", "1", "2.then.0" (the first step of the "then" branch of step 2).
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from inbox_crm.contacts.values import InvalidFields, fold

MAX_ATTACHMENTS = 3  # the seeds: "hasta tres archivos adjuntos"
MAX_BUTTONS = 2  # the seeds: "hasta dos botones"
MAX_STEPS = 50
MAX_WAIT_SECONDS = 30 * 24 * 3600

Channel = Literal["any", "messenger", "instagram", "whatsapp"]

# The domain event each trigger listens to: enabled flows are indexed under it.
TRIGGER_EVENTS: dict[str, str] = {
    "conversation_opened": "ConversationOpened",
    "message_received": "MessageReceived",
    "postback_received": "MessageReceived",
    "comment_received": "CommentReceived",
    "contact_created": "ContactCreated",
    "tag_added": "TagAdded",
}

# Step types performed by their own function (one EventBridge rule per type); the engine itself
# evaluates decisions and schedules waits.
ACTION_TYPES = ("create_contact", "add_tag", "remove_tag", "send_message", "assign", "close", "reply_comment")
ENGINE_STEP_TYPES = ("decision", "wait")

VARIABLES = frozenset(
    {
        "contact.first_name",
        "contact.last_name",
        "contact.name",
        "contact.email",
        "contact.phone",
        "contact.company",
        "conversation.channel",
        "conversation.display_name",
        "conversation.handle",
        "message.text",
    }
)
_VARIABLE = re.compile(r"\{\{\s*([a-z_]+\.[a-z_]+)\s*(?:\|([^}]*))?\}\}")
_TIME = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _check_variables(text: str | None) -> str | None:
    if text is None:
        return text
    unknown = sorted({name for name, _ in _VARIABLE.findall(text) if name not in VARIABLES})
    if unknown:
        raise ValueError(f"unknown variables: {', '.join(unknown)}; known: {', '.join(sorted(VARIABLES))}")
    return text


TemplateText = Annotated[str, Field(min_length=1, max_length=2000), AfterValidator(_check_variables)]
Id = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_\-]+$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


# ------------------------------------------------------------------ triggers


class ConversationOpenedTrigger(_Strict):
    """Conversación abierta por mensaje recibido (any channel, or via one)."""

    type: Literal["conversation_opened"]
    channel: Channel = "any"


class MessageReceivedTrigger(_Strict):
    type: Literal["message_received"]
    channel: Channel = "any"
    keywords: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=50
    )
    keyword_match: Literal["contains_any", "equals"] = "contains_any"


class PostbackReceivedTrigger(_Strict):
    """A button postback, quick reply or WhatsApp interactive reply with this payload."""

    type: Literal["postback_received"]
    payload: Annotated[str, Field(min_length=1, max_length=1000)]
    channel: Channel = "any"


class CommentReceivedTrigger(_Strict):
    type: Literal["comment_received"]
    account_id: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^\d+$")]  # the Page id
    post_ids: list[Annotated[str, Field(min_length=1, max_length=100)]] | None = Field(
        default=None, max_length=50, description="None: any post of the Page"
    )
    include_replies: bool = False


class ContactCreatedTrigger(_Strict):
    type: Literal["contact_created"]


class TagAddedTrigger(_Strict):
    type: Literal["tag_added"]
    tag_id: Id


Trigger = Annotated[
    ConversationOpenedTrigger
    | MessageReceivedTrigger
    | PostbackReceivedTrigger
    | CommentReceivedTrigger
    | ContactCreatedTrigger
    | TagAddedTrigger,
    Field(discriminator="type"),
]


# ------------------------------------------------------------------ conditions


class Schedule(_Strict):
    """Office hours: on these weekdays (0 = Monday), from start to end, in the timezone."""

    days: list[Annotated[int, Field(ge=0, le=6)]] = Field(
        default_factory=lambda: [0, 1, 2, 3, 4], min_length=1
    )
    start: str = "09:00"
    end: str = "18:00"
    timezone: str | None = Field(default=None, description="default: the workspace's timezone")

    @model_validator(mode="after")
    def _times(self) -> Schedule:
        if not _TIME.match(self.start) or not _TIME.match(self.end):
            raise ValueError("start and end are HH:MM (24 h)")
        if self.timezone is not None:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(self.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"unknown timezone {self.timezone!r}") from None
        return self


CONDITION_FIELDS = frozenset(
    {
        "contact.id",
        "contact.first_name",
        "contact.last_name",
        "contact.email",
        "contact.phone",
        "contact.company",
        "contact.tags",
        "conversation.channel",
        "conversation.status",
        "conversation.assignee_id",
        "conversation.kind",
        "message.text",
        "now",
    }
)


class Condition(_Strict):
    field: str
    op: Literal[
        "is_set",
        "is_not_set",
        "equals",
        "not_equals",
        "contains",
        "has_tag",
        "not_has_tag",
        "in_hours",
        "out_of_hours",
    ]
    value: Annotated[str, Field(max_length=500)] | None = None
    schedule: Schedule | None = None

    @model_validator(mode="after")
    def _coherent(self) -> Condition:
        if self.field not in CONDITION_FIELDS:
            raise ValueError(f"unknown field {self.field!r}; known: {', '.join(sorted(CONDITION_FIELDS))}")
        if self.op in ("in_hours", "out_of_hours"):
            if self.field != "now" or self.schedule is None:
                raise ValueError(f"{self.op} needs field 'now' and a schedule")
        elif self.field == "now":
            raise ValueError("field 'now' takes the in_hours / out_of_hours operators")
        if self.op in ("equals", "not_equals", "contains", "has_tag", "not_has_tag") and self.value is None:
            raise ValueError(f"{self.op} needs a value")
        if self.op in ("has_tag", "not_has_tag") and self.field != "contact.tags":
            raise ValueError(f"{self.op} applies to contact.tags")
        return self


# ------------------------------------------------------------------ steps


class Attachment(_Strict):
    type: Literal["image", "video", "audio", "file"]
    url: Annotated[str, Field(min_length=8, max_length=2000, pattern=r"^https://")]


class Button(_Strict):
    type: Literal["web_url", "postback"]
    title: Annotated[str, Field(min_length=1, max_length=20)]
    url: Annotated[str, Field(max_length=2000, pattern=r"^https?://")] | None = None
    payload: Annotated[str, Field(min_length=1, max_length=1000)] | None = None

    @model_validator(mode="after")
    def _target(self) -> Button:
        if self.type == "web_url" and not self.url:
            raise ValueError("a web_url button needs a url")
        if self.type == "postback" and not self.payload:
            raise ValueError("a postback button needs a payload")
        return self


class CreateContactStep(_Strict):
    """Crear/asociar contacto: find the sender's contact by Facebook ID, Instagram username or WhatsApp
    phone; link it or create it; optionally tag it with its source."""

    type: Literal["create_contact"]
    add_source_tag: bool = False


class TagStep(_Strict):
    type: Literal["add_tag", "remove_tag"]
    tag_id: Id


class SendMessageStep(_Strict):
    type: Literal["send_message"]
    text: TemplateText | None = None
    attachments: list[Attachment] = Field(default_factory=list, max_length=MAX_ATTACHMENTS)
    buttons: list[Button] = Field(default_factory=list, max_length=MAX_BUTTONS)

    @model_validator(mode="after")
    def _content(self) -> SendMessageStep:
        if not self.text and not self.attachments:
            raise ValueError("a send_message step needs a text or attachments")
        if self.buttons and not self.text:
            raise ValueError("buttons need a text")
        return self


class AssignStep(_Strict):
    type: Literal["assign"]
    user_id: Id | None = None
    user_ids: list[Id] | None = Field(default=None, min_length=1, max_length=50, description="round robin")

    @model_validator(mode="after")
    def _who(self) -> AssignStep:
        if (self.user_id is None) == (self.user_ids is None):
            raise ValueError("an assign step names either user_id or user_ids (round robin)")
        return self


class CloseStep(_Strict):
    type: Literal["close"]


class ReplyCommentStep(_Strict):
    type: Literal["reply_comment"]
    mode: Literal["public", "private"]
    text: TemplateText


class WaitStep(_Strict):
    type: Literal["wait"]
    seconds: Annotated[int, Field(ge=1, le=MAX_WAIT_SECONDS)]


class DecisionStep(_Strict):
    type: Literal["decision"]
    conditions: list[Condition] = Field(min_length=1, max_length=20)
    match: Literal["all", "any"] = "all"
    then: list[Step] = Field(default_factory=list)
    else_: list[Step] = Field(default_factory=list, alias="else")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


Step = Annotated[
    CreateContactStep
    | TagStep
    | SendMessageStep
    | AssignStep
    | CloseStep
    | ReplyCommentStep
    | WaitStep
    | DecisionStep,
    Field(discriminator="type"),
]
DecisionStep.model_rebuild()


class FlowDefinition(_Strict):
    trigger: Trigger
    conditions: list[Condition] = Field(default_factory=list, max_length=20)
    match: Literal["all", "any"] = "all"
    steps: list[Step] = Field(min_length=1, max_length=MAX_STEPS)

    @model_validator(mode="after")
    def _size(self) -> FlowDefinition:
        if count_steps(self.model_dump(by_alias=True)["steps"]) > MAX_STEPS:
            raise ValueError(f"a flow has at most {MAX_STEPS} steps, branches included")
        return self


def count_steps(steps: list[dict[str, Any]]) -> int:
    return sum(1 + count_steps(s.get("then") or []) + count_steps(s.get("else") or []) for s in steps)


def validate_definition(raw: Any, *loc: str | int) -> dict[str, Any]:
    """The definition as canonical JSON data, or InvalidFields (422) naming each problem."""
    try:
        model = FlowDefinition.model_validate(raw)
    except ValidationError as error:
        raise InvalidFields(
            [
                {
                    "loc": [*loc, *(part for part in item["loc"])],
                    "msg": item["msg"],
                    "type": item["type"],
                }
                for item in error.errors(include_url=False)
            ],
            "The flow is invalid",
        ) from None
    return model.model_dump(by_alias=True, exclude_none=True)


# ------------------------------------------------------------------ paths


def step_at(steps: list[dict[str, Any]], path: str) -> dict[str, Any]:
    parts = path.split(".")
    current: list[dict[str, Any]] = steps
    step: dict[str, Any] = {}
    index = 0
    while index < len(parts):
        step = current[int(parts[index])]
        if index + 1 < len(parts):
            current = step.get(parts[index + 1]) or []
        index += 2
    return step


def first_path(steps: list[dict[str, Any]], prefix: str = "") -> str | None:
    return f"{prefix}0" if steps else None


def next_path(steps: list[dict[str, Any]], path: str) -> str | None:
    """The step after `path` once it is done: the next one in its list, else the step after the
    decision whose branch this is, and so on up."""
    parts = path.split(".")
    while True:
        container = steps if len(parts) == 1 else step_at(steps, ".".join(parts[:-2])).get(parts[-2]) or []
        index = int(parts[-1]) + 1
        if index < len(container):
            return ".".join([*parts[:-1], str(index)])
        if len(parts) == 1:
            return None
        parts = parts[:-2]


def walk(steps: list[dict[str, Any]], prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    found: list[tuple[str, dict[str, Any]]] = []
    for index, step in enumerate(steps):
        path = f"{prefix}{index}"
        found.append((path, step))
        for branch in ("then", "else"):
            found += walk(step.get(branch) or [], f"{path}.{branch}.")
    return found


# ------------------------------------------------------------------ text


def folded_words(text: str) -> str:
    """Case, accents and punctuation ignored: "¿Cuál es el PRECIO?" -> "cual es el precio"."""
    return " ".join(re.sub(r"[^\w]+", " ", fold(text)).split())


def keyword_matches(text: str | None, keywords: list[str], how: str) -> bool:
    if not keywords:
        return True
    if not text:
        return False
    said = folded_words(text)
    wanted = [folded_words(keyword) for keyword in keywords]
    if how == "equals":
        return said in wanted
    padded = f" {said} "
    return any(word and f" {word} " in padded for word in wanted)


def render(text: str, values: dict[str, str | None]) -> str:
    """Replace {{contact.first_name}} (or {{contact.first_name|amigo}} with a fallback)."""

    def one(match: re.Match[str]) -> str:
        value = values.get(match.group(1))
        return value if value else (match.group(2) or "").strip()

    return _VARIABLE.sub(one, text).strip()
