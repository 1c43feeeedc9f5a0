"""Flow step: Add or remove a tag on the run's contact (FlowActionRequested, action: add_tag,remove_tag)."""

from __future__ import annotations

from inbox_crm.flow_action_handler import flow_action_handler

lambda_handler = flow_action_handler("add_tag", "remove_tag")
