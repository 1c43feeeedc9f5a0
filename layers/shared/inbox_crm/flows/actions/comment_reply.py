"""Reply to a comment publicly or privately (action ``reply_comment``, FlowActionCommentReplyFunction)."""

from __future__ import annotations

from typing import Any

from inbox_crm.flows.actions.send import send_step
from inbox_crm.flows.steps import PermanentStepError, StepCall


def perform(call: StepCall) -> dict[str, Any]:
    if call.conversation().kind != "comment":
        raise PermanentStepError("reply_comment answers a comment conversation")
    mode = "public_reply" if call.step["mode"] == "public" else "private_reply"
    return send_step(call, call.step["text"], mode)
