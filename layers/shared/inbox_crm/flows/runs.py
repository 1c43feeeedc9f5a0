"""A run of a flow: started once per (flow, event), advanced step by step, parked on waits and resumed
under a lease.

* ``start_run``: the run's id is a hash of the flow id and the event id, written with a conditional
  put, so a redelivered event never adds a second run.
* ``advance``: from a step path, decisions are evaluated and waits scheduled here; the next action is
  asked for with one ``FlowActionRequested`` event (stable id: run id + path). A rule per action type
  routes it to that action's function, which calls ``perform_step``.
* ``perform_step`` (the action functions): the step item moves running -> done | failed | skipped with
  conditional writes; side effects carry stable keys, so a redelivered step never acts twice.
  Transient errors raise (EventBridge retries with backoff, then the rule's DLQ); after
  ``MAX_ATTEMPTS`` or on a permanent error the step and the run are failed with the reason and the
  flow's error count grows.
* ``resume`` (a work item, dispatch/work.py): waiting runs sit on gsi2 under ``FLOWWAIT#<shard>``. A due
  one is claimed under a lease and stays on the index (due at the lease's expiry) until it has gone
  on, so a resume that dies after its claim is taken up again by the retried item or the next sweep.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError, UpdateError

from inbox_crm.core.errors import DomainError
from inbox_crm.core.ids import stable_id
from inbox_crm.core.observability import logger, tracer
from inbox_crm.core.timeutil import to_millis, utcnow
from inbox_crm.events.outbox import DomainEvent, record
from inbox_crm.flows import model
from inbox_crm.flows.context import RunContext, conditions_hold, trigger_data
from inbox_crm.flows.steps import (
    Action,
    PermanentStepError,
    StepCall,
    claim_step,
    finish_step,
    note_error,
    record_step,
)
from inbox_crm.store.models import Flow, FlowRun, FlowRunStep, FlowTrigger, InboxItem
from inbox_crm.store.transactions import condition_failed

ACTION_EVENT = "FlowActionRequested"
MAX_ATTEMPTS = 5
WAIT_SHARDS = 4
WAIT_LEASE = timedelta(seconds=60)
_TRIGGER_FIELDS = (
    "conversation_id",
    "contact_id",
    "identity_id",
    "message_id",
    "channel",
    "account_id",
    "kind",
    "text",
    "payload",
    "post_id",
    "comment_id",
    "is_reply",
    "tag_id",
    "tag_name",
)


def run_id_for(flow_id: str, event_id: str) -> str:
    return stable_id("run", flow_id, event_id)


def start_run(
    workspace_id: str,
    candidate: FlowTrigger,
    definition: dict[str, Any],
    event_name: str,
    detail: dict[str, Any],
    context: RunContext,
    now: datetime,
) -> FlowRun | None:
    metadata = detail.get("metadata") or {}
    run_id = run_id_for(candidate.flow_id, metadata["event_id"])
    trigger = {
        name: (detail[name][:500] if isinstance(detail[name], str) else detail[name])
        for name in _TRIGGER_FIELDS
        if detail.get(name) not in (None, "", [], {})
    }
    run = FlowRun(
        *FlowRun.key(workspace_id, run_id),
        workspace_id=workspace_id,
        run_id=run_id,
        flow_id=candidate.flow_id,
        flow_version=candidate.flow_version,
        definition=candidate.definition,
        trigger_event_id=metadata["event_id"],
        trigger_event_name=event_name,
        trigger=trigger,
        correlation_id=metadata.get("correlation_id"),
        conversation_id=detail.get("conversation_id"),
        contact_id=detail.get("contact_id"),
        state="running",
        current_path="0",
        started_at=now,
        created_at=now,
        gsi1pk=FlowRun.listing_pk(workspace_id, candidate.flow_id),
        gsi1sk=f"{to_millis(now):013d}#{run_id}",
    )
    try:
        run.save(condition=FlowRun.pk.does_not_exist())
    except PutError as error:
        if not condition_failed(error):
            raise
        # A redelivered event: the run exists. Ask again for the step it is at (harmless if done:
        # steps are idempotent), in case the first delivery stopped before asking.
        existing = get_run(workspace_id, run_id)
        if existing is not None and existing.state == "running":
            advance(existing, existing.current_path or "0", context)
        return None
    advance(run, "0", context)
    return run


def get_run(workspace_id: str, run_id: str) -> FlowRun | None:
    try:
        return FlowRun.get(*FlowRun.key(workspace_id, run_id), consistent_read=True)
    except FlowRun.DoesNotExist:
        return None


def load_run(workspace_id: str, run_id: str) -> tuple[FlowRun | None, dict[str, FlowRunStep]]:
    """The run and its steps: one Query on the run's partition."""
    run: FlowRun | None = None
    steps: dict[str, FlowRunStep] = {}
    for item in InboxItem.query(FlowRun.pk_for(workspace_id, run_id), consistent_read=True):
        if isinstance(item, FlowRun):
            run = item
        elif isinstance(item, FlowRunStep):
            steps[item.path] = item
    return run, steps


def steps_of(run: FlowRun) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = json.loads(run.definition)["steps"]
    return steps


def update_run(run: FlowRun, actions: list[Any], *, states: tuple[str, ...] = ("running",)) -> bool:
    condition = FlowRun.state.is_in(*states)
    try:
        run.update(actions=actions, condition=condition)
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return False
    return True


def wait_shard(run_id: str) -> str:
    return f"FLOWWAIT#{int(stable_id('w', run_id)[2:10], 36) % WAIT_SHARDS}"


def _due_key(run: FlowRun, due: datetime) -> str:
    return f"{to_millis(due):013d}#{run.workspace_id}#{run.run_id}"


def _off_due_index() -> list[Any]:
    """A run that has ended, or whose resume has gone on, waits for nothing: no index keys, no claim."""
    return [
        FlowRun.gsi2pk.remove(),
        FlowRun.gsi2sk.remove(),
        FlowRun.claim_id.remove(),
        FlowRun.lease_until.remove(),
    ]


def advance(run: FlowRun, path: str | None, context: RunContext | None = None) -> str:
    """Go on from `path` (a step not yet done): decisions are evaluated here, a wait parks the run on
    the due index, an action is requested from its function. Idempotent."""
    steps = steps_of(run)
    context = context or RunContext(run.workspace_id, run.conversation_id, run.contact_id, trigger_data(run))
    now = utcnow()
    while path is not None:
        step = model.step_at(steps, path)
        kind = step["type"]
        if kind == "decision":
            holds = conditions_hold(step["conditions"], step.get("match", "all"), context, now)
            branch = "then" if holds else "else"
            record_step(
                run,
                path,
                kind,
                "done",
                input={"conditions": step["conditions"]},
                result={"branch": branch},
                now=now,
            )
            path = f"{path}.{branch}.0" if step.get(branch) else model.next_path(steps, path)
            continue
        if kind == "wait":
            due = now + timedelta(seconds=int(step["seconds"]))
            if not record_step(run, path, kind, "waiting", input={"seconds": step["seconds"]}, now=now):
                existing = FlowRunStep.get(
                    *FlowRunStep.key(run.workspace_id, run.run_id, path), consistent_read=True
                )
                if existing.state == "done":
                    path = model.next_path(steps, path)
                    continue
                return "waiting"
            update_run(
                run,
                [
                    FlowRun.state.set("waiting"),
                    FlowRun.current_path.set(path),
                    FlowRun.resume_at.set(due),
                    FlowRun.gsi2pk.set(wait_shard(run.run_id)),
                    FlowRun.gsi2sk.set(_due_key(run, due)),
                    # a new wait: the claim of the one resumed before (if any) is settled with it
                    FlowRun.claim_id.remove(),
                    FlowRun.lease_until.remove(),
                ],
            )
            return "waiting"
        if run.current_path != path and not update_run(run, [FlowRun.current_path.set(path)]):
            return "stopped"
        request_step(run, path, kind)
        return "requested"
    update_run(
        run,
        [
            FlowRun.state.set("completed"),
            FlowRun.finished_at.set(now),
            FlowRun.current_path.remove(),
            *_off_due_index(),
        ],
    )
    return "completed"


def request_step(run: FlowRun, path: str, action: str) -> None:
    """Ask the action's function to perform the step. Written to the outbox on its own: whoever
    advances the run (the engine, or a step's function, retried until they succeed) requests it again."""
    record(
        [
            DomainEvent(
                name=ACTION_EVENT,
                workspace_id=run.workspace_id,
                cause=f"{run.run_id}:{path}",
                correlation_id=run.correlation_id,
                caused_by_flow=run.flow_id,
                data={
                    "run_id": run.run_id,
                    "path": path,
                    "action": action,
                    "flow_id": run.flow_id,
                    "flow_version": run.flow_version,
                    "conversation_id": run.conversation_id,
                    "contact_id": run.contact_id,
                },
            )
        ]
    )


def fail_run(run: FlowRun, path: str | None, reason: str, now: datetime) -> None:
    changed = update_run(
        run,
        [
            FlowRun.state.set("failed"),
            FlowRun.error.set(reason[:1000]),
            FlowRun.failed_path.set(path or ""),
            FlowRun.finished_at.set(now),
            *_off_due_index(),
        ],
        states=("running", "waiting"),
    )
    if changed:
        flow = Flow(*Flow.key(run.workspace_id, run.flow_id))
        try:
            flow.update(
                actions=[
                    Flow.error_count.add(1),
                    Flow.last_error.set(f"run {run.run_id}, step {path}: {reason}"[:1000]),
                    Flow.last_error_at.set(now),
                ],
                condition=Flow.pk.exists(),
            )
        except UpdateError as error:
            if not condition_failed(error):  # the flow was deleted meanwhile: nothing to count
                raise
    logger.warning("flow run failed", extra={"run_id": run.run_id, "path": path, "reason": reason})


def stop_run(run: FlowRun, reason: str, now: datetime) -> None:
    update_run(
        run,
        [
            FlowRun.state.set("stopped"),
            FlowRun.error.set(reason),
            FlowRun.finished_at.set(now),
            *_off_due_index(),
        ],
        states=("running", "waiting"),
    )


@tracer.capture_method(capture_response=False)
def perform_step(detail: dict[str, Any], actions: dict[str, Action]) -> dict[str, Any]:
    """A FlowActionRequested event, in the action's function. Raises on transient errors."""
    workspace_id, run_id, path = detail["workspace_id"], detail["run_id"], detail["path"]
    run, steps = load_run(workspace_id, run_id)
    if run is None:
        return {"outcome": "ignored", "reason": "no such run"}
    if run.state != "running":
        return {"outcome": "ignored", "reason": f"run is {run.state}"}
    definition_steps = steps_of(run)
    step = model.step_at(definition_steps, path)
    kind = step["type"]
    if kind not in actions:
        raise PermanentStepError(f"{kind} is not performed by this function")  # a routing bug: DLQ
    now = utcnow()
    context = RunContext(workspace_id, run.conversation_id, run.contact_id, trigger_data(run))
    item = steps.get(path)
    if item is not None and item.state in ("done", "skipped"):
        advance(run, model.next_path(definition_steps, path), context)  # the first delivery may not have
        return {"outcome": "duplicate", "state": item.state}
    if item is not None and item.state == "failed":
        return {"outcome": "duplicate", "state": "failed"}
    item = claim_step(run, path, kind, item, now)
    if context.blocked():
        finish_step(item, "skipped", {"reason": "contact_blocked"}, None, now)
        stop_run(run, "contact_blocked", now)
        return {"outcome": "stopped", "reason": "contact_blocked"}
    call = StepCall(run, path, step, item, context)
    try:
        result = actions[kind](call)
    except (PermanentStepError, DomainError) as error:
        reason = getattr(error, "message", None) or str(error)
        finish_step(item, "failed", None, reason, now)
        fail_run(run, path, reason, now)
        return {"outcome": "failed", "reason": reason}
    except Exception as error:
        if (item.attempts or 0) >= MAX_ATTEMPTS:
            reason = f"gave up after {item.attempts} attempts: {error!r}"
            finish_step(item, "failed", None, reason, now)
            fail_run(run, path, reason, now)
            return {"outcome": "failed", "reason": reason}
        note_error(item, repr(error))
        raise  # EventBridge retries with backoff, then the rule's dead-letter queue
    finish_step(item, "done", result, None, now)
    contact_id = result.get("contact_id")
    if contact_id and contact_id != run.contact_id:
        update_run(run, [FlowRun.contact_id.set(contact_id)])
        run.contact_id = contact_id
        context.contact_id = contact_id
        context.forget()
    outcome = advance(run, model.next_path(definition_steps, path), context)
    return {"outcome": "done", "result": result, "next": outcome}


# ------------------------------------------------------------------ waits (scheduler)


def resume_due_waits(now: datetime | None = None, per_shard: int = 50) -> dict[str, int]:
    """Due waits (and expired resume claims) go on: one Query per shard of the due index, never a Scan."""
    now = now or utcnow()
    counts = {"due": 0, "resumed": 0, "stopped": 0, "held": 0}
    upper = f"{to_millis(now):013d}#~"
    for shard in range(WAIT_SHARDS):
        for item in FlowRun.due_index.query(f"FLOWWAIT#{shard}", FlowRun.gsi2sk <= upper, limit=per_shard):
            if isinstance(item, FlowRun):
                counts["due"] += 1
                counts[resume(item, now)] += 1
    return counts


def _claim_wait(run: FlowRun, now: datetime) -> bool:
    """A due wait, or a resume whose holder's lease expired, is claimed by one resumer at a time. The
    run becomes running at once (so going on is advance's usual path), and stays on the due index,
    due when the lease expires, until the resume has gone on (_settle_wait)."""
    lease_until = now + WAIT_LEASE
    due_wait = (FlowRun.state == "waiting") & (FlowRun.resume_at <= now)
    expired = (FlowRun.state == "running") & FlowRun.claim_id.exists() & (FlowRun.lease_until < now)
    try:
        run.update(
            actions=[
                FlowRun.state.set("running"),
                FlowRun.resume_at.remove(),
                FlowRun.claim_id.set(uuid.uuid4().hex),
                FlowRun.lease_until.set(lease_until),
                FlowRun.gsi2pk.set(wait_shard(run.run_id)),
                FlowRun.gsi2sk.set(_due_key(run, lease_until)),
            ],
            condition=due_wait | expired,
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return False
    return True


def _settle_wait(run: FlowRun) -> None:
    """The resume has gone on: off the due index. Conditioned on the claim, so a run that went on to
    a new wait (which dropped the claim) or was retaken by another resumer keeps its keys."""
    try:
        run.update(actions=_off_due_index(), condition=FlowRun.claim_id == (run.claim_id or ""))
    except UpdateError as error:
        if not condition_failed(error):
            raise


def resume(run: FlowRun, now: datetime) -> str:
    """Go on after a due wait. Safe to repeat: the wait step is finished once (conditional write),
    decisions are recorded once, and an action is requested under a stable event id, so a resumer
    retried after its claim's lease expired does again only what the first may not have done."""
    if not _claim_wait(run, now):
        return "held"  # not due, held by another resumer within its lease, or moved on
    # The claim returned the run as stored: a retaken claim goes on from where the run is now.
    steps = steps_of(run)
    path: str | None = run.current_path or "0"
    if model.step_at(steps, run.current_path or "0")["type"] == "wait":
        item = FlowRunStep(*FlowRunStep.key(run.workspace_id, run.run_id, run.current_path or "0"))
        try:
            flow = Flow.get(*Flow.key(run.workspace_id, run.flow_id))
            active = flow.state == "active"
        except Flow.DoesNotExist:
            active = False
        if not active:
            finish_step(item, "skipped", {"reason": "flow_disabled"}, None, now)
            stop_run(run, "flow_disabled", now)
            return "stopped"
        finish_step(item, "done", {"resumed_at": now.isoformat()}, None, now)
        path = model.next_path(steps, run.current_path or "0")
    advance(run, path)
    _settle_wait(run)
    return "resumed"
