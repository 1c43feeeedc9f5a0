"""Flow step: Assign the conversation (an agent, or round robin) (FlowActionRequested, action: assign)."""

from __future__ import annotations

from inbox_crm.flow_action_handler import flow_action_handler

lambda_handler = flow_action_handler("assign")
