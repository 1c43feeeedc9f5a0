"""Flow step: Close the conversation (FlowActionRequested, action: close)."""

from __future__ import annotations

from inbox_crm.flow_action_handler import flow_action_handler

lambda_handler = flow_action_handler("close")
