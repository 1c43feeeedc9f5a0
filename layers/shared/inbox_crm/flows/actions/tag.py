"""Add or remove a tag on the run's contact (actions ``add_tag``, ``remove_tag``, FlowActionTagFunction)."""

from __future__ import annotations

from typing import Any

from inbox_crm.contacts import tagging
from inbox_crm.flows.steps import StepCall


def perform(call: StepCall) -> dict[str, Any]:
    contact_id = call.contact_id()
    tag_id = call.step["tag_id"]
    if call.step["type"] == "add_tag":
        tagging.add_tag(call.run.workspace_id, contact_id, tag_id, call.actor())
    else:
        tagging.remove_tag(call.run.workspace_id, contact_id, tag_id, call.actor())
    return {"contact_id": contact_id, "tag_id": tag_id, "done": call.step["type"]}
