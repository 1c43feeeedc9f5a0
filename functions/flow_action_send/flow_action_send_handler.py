"""Flow step: send a message, text with variables, attachments, buttons (action: send_message)."""

from __future__ import annotations

from inbox_crm.flow_action_handler import flow_action_handler

lambda_handler = flow_action_handler("send_message")
