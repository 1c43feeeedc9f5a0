"""Close the conversation (action ``close``, FlowActionCloseFunction)."""

from __future__ import annotations

from typing import Any

from inbox_crm.flows.steps import StepCall
from inbox_crm.inbox import conversations


def perform(call: StepCall) -> dict[str, Any]:
    conversation, changed = conversations.close_conversation(
        call.run.workspace_id, call.conversation().conversation_id, call.change()
    )
    return {"status": conversation.status, "changed": changed}
