"""A step of a run: its item's states (running -> done | failed | skipped, conditionally written),
and what an action is given to perform one (``StepCall``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from inbox_crm.flows.context import RunContext
from inbox_crm.store.maps import compact
from inbox_crm.store.models import Conversation, FlowRun, FlowRunStep
from inbox_crm.store.transactions import condition_failed


class PermanentStepError(Exception):
    """The step cannot succeed by retrying: the run fails with this reason."""


Action = Callable[["StepCall"], dict[str, Any]]


@dataclass
class StepCall:
    run: FlowRun
    path: str
    step: dict[str, Any]
    item: FlowRunStep
    context: RunContext

    @property
    def idempotency_key(self) -> str:
        return f"flow:{self.run.run_id}:{self.path}"

    def actor(self) -> Any:
        from inbox_crm.contacts.actors import Actor

        return Actor(self.run.flow_id, self.run.correlation_id, caused_by_flow=self.run.flow_id)

    def conversation(self) -> Conversation:
        conversation = self.context.conversation
        if conversation is None:
            raise PermanentStepError("this run has no conversation to act on")
        return conversation

    def contact_id(self) -> str:
        contact = self.context.contact
        if contact is None:
            raise PermanentStepError(
                "the conversation has no contact yet: put a create_contact step before this one"
            )
        return contact.contact_id

    def change(self) -> Any:
        from inbox_crm.inbox.conversations import Change

        # A retried step finds its change made: nothing new is announced (inbox/conversations.py).
        run = self.run
        return Change(by=run.flow_id, correlation_id=run.correlation_id, caused_by_flow=run.flow_id)

    def set_input(self, values: dict[str, Any]) -> None:
        self.item.update(actions=[FlowRunStep.input.set(compact(values))])


def record_step(
    run: FlowRun,
    path: str,
    step_type: str,
    state: str,
    *,
    input: dict[str, Any] | None = None,
    result: dict[str, Any] | None = None,
    now: datetime,
) -> bool:
    item = FlowRunStep(
        *FlowRunStep.key(run.workspace_id, run.run_id, path),
        run_id=run.run_id,
        path=path,
        step_type=step_type,
        state=state,
        input=input,
        result=result,
        attempts=1,
        started_at=now,
        finished_at=now if state in ("done", "skipped") else None,
    )
    try:
        item.save(condition=FlowRunStep.pk.does_not_exist())
    except PutError as error:
        if not condition_failed(error):
            raise
        return False
    return True


def claim_step(run: FlowRun, path: str, kind: str, item: FlowRunStep | None, now: datetime) -> FlowRunStep:
    if item is None:
        item = FlowRunStep(
            *FlowRunStep.key(run.workspace_id, run.run_id, path),
            run_id=run.run_id,
            path=path,
            step_type=kind,
            state="running",
            attempts=1,
            started_at=now,
        )
        try:
            item.save(condition=FlowRunStep.pk.does_not_exist())
            return item
        except PutError as error:
            if not condition_failed(error):
                raise
    item.update(actions=[FlowRunStep.attempts.add(1)], condition=FlowRunStep.pk.exists())
    return item


def finish_step(
    item: FlowRunStep, state: str, result: dict[str, Any] | None, error: str | None, now: datetime
) -> None:
    actions: list[Any] = [FlowRunStep.state.set(state), FlowRunStep.finished_at.set(now)]
    if result is not None:
        actions.append(FlowRunStep.result.set(compact(result)))
    if error is not None:
        actions.append(FlowRunStep.error.set(error[:1000]))
    try:
        item.update(actions=actions, condition=FlowRunStep.state.is_in("running", "waiting"))
    except UpdateError as failure:
        if not condition_failed(failure):
            raise


def note_error(item: FlowRunStep, error: str) -> None:
    item.update(actions=[FlowRunStep.error.set(error[:1000])])
