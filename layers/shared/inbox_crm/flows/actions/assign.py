"""Assign the conversation to an agent, or round robin among several (action ``assign``,
FlowActionAssignFunction)."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError

from inbox_crm.flows.steps import StepCall
from inbox_crm.inbox import conversations
from inbox_crm.store.models import FlowCounter, FlowRunStep
from inbox_crm.store.transactions import condition_failed


def perform(call: StepCall) -> dict[str, Any]:
    conversation = call.conversation()
    user_ids = call.step.get("user_ids")
    user_id = _round_robin(call, list(user_ids)) if user_ids else call.step["user_id"]
    conversations.assign_conversation(
        call.run.workspace_id, conversation.conversation_id, user_id, call.change()
    )
    return {"assignee_id": user_id, "round_robin": bool(user_ids)}


def _round_robin(call: StepCall, user_ids: list[str]) -> str:
    memo: dict[str, Any] = call.item.memo.as_dict() if call.item.memo else {}
    if memo.get("assignee"):
        return str(memo["assignee"])
    pick = user_ids[_next_position(call) % len(user_ids)]
    try:
        call.item.update(
            actions=[FlowRunStep.memo.set({"assignee": pick})], condition=FlowRunStep.memo.does_not_exist()
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
        current = FlowRunStep.get(call.item.pk, call.item.sk, consistent_read=True)
        return str((current.memo.as_dict() if current.memo else {}).get("assignee") or pick)
    return pick


def _next_position(call: StepCall) -> int:
    """The step's round-robin counter, incremented atomically (created at 1 by its first ADD); the
    type is set too, so the counter reads back as a FlowCounter."""
    counter = FlowCounter(*FlowCounter.key(call.run.workspace_id, call.run.flow_id, call.path))
    counter.update(actions=[FlowCounter.value.add(1), FlowCounter.item_type.set(FlowCounter)])
    return int(counter.value) - 1
