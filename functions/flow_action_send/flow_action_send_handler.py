"""Flow step: send a message, text with variables, attachments, buttons (action: send_message)."""

from __future__ import annotations

from inbox_crm.core.aws_needs import PAGE_TOKENS, TABLE_READ_WRITE, needs
from inbox_crm.flows.action_handler import flow_action_handler

# What this function's code performs in AWS; template.yaml must grant it (tests/unit/test_iam.py).
AWS_NEEDS = needs(TABLE_READ_WRITE, PAGE_TOKENS)

lambda_handler = flow_action_handler("send_message")
