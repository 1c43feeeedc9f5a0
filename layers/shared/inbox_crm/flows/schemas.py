"""Bodies of the flows API. The definition models live in flows/model.py (templates and the
engine validate with the same ones)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from inbox_crm.flows.model import Condition, Step, Trigger
from inbox_crm.http.schemas import Strict, Text

Name = Annotated[Text, Field(min_length=1, max_length=120)]


class FlowIn(Strict):
    name: Name
    trigger: Trigger
    conditions: list[Condition] = Field(default_factory=list, max_length=20)
    match: Literal["all", "any"] = "all"
    steps: list[Step] = Field(min_length=1, max_length=50)
    version: int | None = Field(default=None, description="PUT: the version you edited (optional guard)")


class FlowRunSummary(BaseModel):
    id: str
    state: str
    started_at: datetime
    finished_at: datetime | None = None
    error: str | None = None


class FlowOut(BaseModel):
    id: str
    name: str
    state: Literal["draft", "active", "disabled"]
    version: int
    trigger: dict[str, Any]
    conditions: list[dict[str, Any]]
    match: str
    steps: list[dict[str, Any]]
    template_key: str | None = None
    error_count: int
    last_error: str | None = None
    last_error_at: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    last_run: FlowRunSummary | None = Field(default=None, description="list and read: the newest run")


class FlowList(BaseModel):
    items: list[FlowOut]


class FlowStepOut(BaseModel):
    path: str
    type: str
    state: str
    input: dict[str, Any] | None = None
    result: dict[str, Any] | None = None
    error: str | None = None
    attempts: int
    started_at: datetime
    finished_at: datetime | None = None
    duration_ms: int | None = None


class FlowRunOut(BaseModel):
    id: str
    flow_id: str
    flow_version: int
    state: str
    trigger_event_id: str
    trigger_event_name: str
    trigger: dict[str, Any]
    conversation_id: str | None = None
    contact_id: str | None = None
    current_path: str | None = None
    started_at: datetime
    finished_at: datetime | None = None
    resume_at: datetime | None = None
    error: str | None = None
    failed_path: str | None = None
    steps: list[FlowStepOut]


class FlowRunPage(BaseModel):
    items: list[FlowRunOut]
    next_cursor: str | None = None


class FlowTemplateOut(BaseModel):
    key: str
    name: str
    description: str
    params: dict[str, str]
    example: dict[str, Any] | None = None


class FlowTemplateList(BaseModel):
    items: list[FlowTemplateOut]


class FlowFromTemplateIn(Strict):
    name: Name | None = None
    enable: bool = False
    params: dict[str, Any] = Field(default_factory=dict)
