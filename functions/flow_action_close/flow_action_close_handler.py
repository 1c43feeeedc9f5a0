"""Flow step: Close the conversation (FlowActionRequested, action: close)."""

from __future__ import annotations

from inbox_crm.core.aws_needs import TABLE_READ_WRITE, needs
from inbox_crm.flows.action_handler import flow_action_handler

# What this function's code performs in AWS; template.yaml must grant it (tests/unit/test_iam.py).
AWS_NEEDS = needs(TABLE_READ_WRITE)

lambda_handler = flow_action_handler("close")
