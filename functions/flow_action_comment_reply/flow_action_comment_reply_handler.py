"""Flow step: Reply to a comment publicly or privately (FlowActionRequested, action: reply_comment)."""

from __future__ import annotations

from inbox_crm.flow_action_handler import flow_action_handler

lambda_handler = flow_action_handler("reply_comment")
