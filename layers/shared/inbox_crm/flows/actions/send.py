"""Send a message: text with variables, attachments, buttons (action ``send_message``,
FlowActionSendFunction). ``send_step`` is also how a comment is answered (actions/comment_reply.py)."""

from __future__ import annotations

from typing import Any

from inbox_crm.flows import model
from inbox_crm.flows.context import trigger_data
from inbox_crm.flows.steps import PermanentStepError, StepCall


def send_step(call: StepCall, text: str | None, reply_mode: str, **content: Any) -> dict[str, Any]:
    from inbox_crm.meta.policy import Sender
    from inbox_crm.meta.send import OutboundContent
    from inbox_crm.outbound.compose import Author, SendSpec
    from inbox_crm.outbound.send import send_message

    conversation = call.conversation()
    variables = call.context.variables()
    rendered = model.render(text, variables) if text else None
    call.set_input({"text": rendered, "reply_mode": reply_mode, **content})
    spec = SendSpec(
        content=OutboundContent(text=rendered, **content),
        reply_mode=reply_mode,
        comment_id=trigger_data(call.run).get("comment_id") if reply_mode != "message" else None,
        idempotency_key=call.idempotency_key,
    )
    author = Author(Sender.AUTOMATION, call.run.flow_id, caused_by_flow=call.run.flow_id)
    sent = send_message(call.run.workspace_id, conversation.conversation_id, spec, author)
    message = sent.message
    if message.status == "failed":
        raise PermanentStepError(message.error_reason or "the message could not be sent")
    return {"message_id": message.message_id, "status": message.status, "created": sent.created}


def perform(call: StepCall) -> dict[str, Any]:
    return send_step(
        call,
        call.step.get("text"),
        "message",
        attachments=[dict(item) for item in call.step.get("attachments") or []],
        buttons=[dict(item) for item in call.step.get("buttons") or []],
    )
