"""Automation flows (issue 5): definitions, their trigger index, runs, steps and counters."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from inbox_crm.store.models.base import InboxItem, ws_pk


class Flow(InboxItem, discriminator="Flow"):
    """An automation: trigger, conditions and steps (``definition``, JSON), state and version."""

    workspace_id = UnicodeAttribute()
    flow_id = UnicodeAttribute()
    name = UnicodeAttribute()
    state = UnicodeAttribute(default="draft")  # draft | active | disabled
    flow_version = NumberAttribute(default=1)  # every edit increments it; runs record it
    trigger_event = UnicodeAttribute()  # the domain event its trigger listens to
    definition = UnicodeAttribute()  # JSON: {trigger, conditions, match, steps}
    template_key = UnicodeAttribute(null=True)
    error_count = NumberAttribute(default=0)
    run_count = NumberAttribute(default=0)
    last_error = UnicodeAttribute(null=True)
    last_error_at = UTCDateTimeAttribute(null=True)
    created_by = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)

    @staticmethod
    def key(workspace_id: str, flow_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), f"FLOW#{flow_id}"


class FlowTrigger(InboxItem, discriminator="FlowTrigger"):
    """An enabled flow under the event its trigger listens to: the engine finds every candidate flow
    of an event with one Query, and carries the definition, so no further read is needed."""

    flow_id = UnicodeAttribute()
    flow_version = NumberAttribute()
    definition = UnicodeAttribute()

    @staticmethod
    def partition(workspace_id: str, event_name: str) -> str:
        return f"{ws_pk(workspace_id)}#FLOWTRIGGER#{event_name}"

    @classmethod
    def key(cls, workspace_id: str, event_name: str, flow_id: str) -> tuple[str, str]:
        return cls.partition(workspace_id, event_name), f"FLOW#{flow_id}"


class FlowRun(InboxItem, discriminator="FlowRun"):
    """One run of a flow, at the version it started with (``definition`` is that version's)."""

    workspace_id = UnicodeAttribute()
    run_id = UnicodeAttribute()  # stable: hash of the flow id and the trigger event id
    flow_id = UnicodeAttribute()
    flow_version = NumberAttribute()
    definition = UnicodeAttribute()
    trigger_event_id = UnicodeAttribute()
    trigger_event_name = UnicodeAttribute()
    trigger = MapAttribute[str, Any](null=True)  # the trigger event's data (small fields)
    correlation_id = UnicodeAttribute(null=True)
    conversation_id = UnicodeAttribute(null=True)
    contact_id = UnicodeAttribute(null=True)
    state = UnicodeAttribute(default="running")  # running | waiting | completed | failed | stopped
    current_path = UnicodeAttribute(null=True)
    started_at = UTCDateTimeAttribute()
    finished_at = UTCDateTimeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    failed_path = UnicodeAttribute(null=True)
    resume_at = UTCDateTimeAttribute(null=True)
    # A due wait is resumed under a claim held until lease_until; the run stays on the due index
    # (gsi2, due at the lease's expiry) until the resume has gone on, so a dead resumer is retried.
    claim_id = UnicodeAttribute(null=True)
    lease_until = UTCDateTimeAttribute(null=True)

    @staticmethod
    def pk_for(workspace_id: str, run_id: str) -> str:
        return f"{ws_pk(workspace_id)}#FLOWRUN#{run_id}"

    @classmethod
    def key(cls, workspace_id: str, run_id: str) -> tuple[str, str]:
        return cls.pk_for(workspace_id, run_id), "RUN"

    @staticmethod
    def listing_pk(workspace_id: str, flow_id: str) -> str:
        return f"{ws_pk(workspace_id)}#FLOWRUNS#{flow_id}"


class FlowRunStep(InboxItem, discriminator="FlowRunStep"):
    """One step of a run: its state moves pending/running -> done | failed | skipped, conditionally."""

    run_id = UnicodeAttribute()
    path = UnicodeAttribute()
    step_type = UnicodeAttribute()
    state = UnicodeAttribute()  # running | waiting | done | failed | skipped
    input = MapAttribute[str, Any](null=True)
    result = MapAttribute[str, Any](null=True)
    error = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    memo = MapAttribute[str, Any](null=True)  # choices made once (round-robin pick)
    started_at = UTCDateTimeAttribute()
    finished_at = UTCDateTimeAttribute(null=True)

    @classmethod
    def key(cls, workspace_id: str, run_id: str, path: str) -> tuple[str, str]:
        return FlowRun.pk_for(workspace_id, run_id), f"STEP#{path}"


class FlowCounter(InboxItem, discriminator="FlowCounter"):
    """The round-robin position of an assign step, incremented atomically."""

    value = NumberAttribute(default=0)

    @staticmethod
    def key(workspace_id: str, flow_id: str, path: str) -> tuple[str, str]:
        return f"{ws_pk(workspace_id)}#FLOWCOUNTER#{flow_id}", path
