"""The flow engine: domain events start runs, steps run in their action's own function, exactly once.

* ``handle_domain_event`` (FlowEngineFunction): one Query finds the workspace's enabled flows for the
  event (``FlowTrigger`` items under the event name); each matching flow gets a run whose id is a hash
  of the flow id and the event id, written with a conditional put, so a redelivered event never adds a
  second run. Events a flow caused (``metadata.caused_by_flow``) never trigger that same flow.
* ``advance``: from a step path, the engine evaluates decisions and schedules waits itself, and asks
  for the next action with one ``FlowActionRequested`` event (stable id: run id + path). A rule per
  action type routes it to that action's function.
* ``perform_step`` (the action functions): the step item moves running -> done | failed | skipped with
  conditional writes; side effects carry stable keys (send idempotency key ``flow:<run>:<path>``, the
  identity's one-contact condition, tag sets), so a redelivered step never acts twice. Transient errors
  raise (EventBridge retries with backoff, then the rule's DLQ); after ``MAX_ATTEMPTS`` or on a
  permanent error the step and the run are failed with the reason and the flow's error count grows.
* ``resume`` (a work item, dispatch/work.py): waiting runs sit on gsi2 under ``FLOWWAIT#<shard>``. A due
  one is claimed under a lease and stays on the index (due at the lease's expiry) until it has gone
  on, so a resume that dies after its claim is taken up again by the retried item or the next sweep.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from pynamodb.exceptions import PutError, UpdateError

from inbox_crm.contacts.values import fold
from inbox_crm.core.aws import client
from inbox_crm.core.errors import Conflict, DomainError, NotFound
from inbox_crm.core.ids import stable_id
from inbox_crm.core.observability import logger
from inbox_crm.core.settings import get_settings
from inbox_crm.core.timeutil import to_millis, utcnow
from inbox_crm.events.outbox import DomainEvent, record
from inbox_crm.flows import model as fm
from inbox_crm.store.maps import compact
from inbox_crm.store.models import (
    Contact,
    Conversation,
    Flow,
    FlowCounter,
    FlowRun,
    FlowRunStep,
    FlowTrigger,
    Identity,
    InboxItem,
    Workspace,
)
from inbox_crm.store.transactions import condition_failed

ACTION_EVENT = "FlowActionRequested"
MAX_ATTEMPTS = 5
WAIT_SHARDS = 4
WAIT_LEASE = timedelta(seconds=60)
SOURCE_TAGS = {"messenger": "Facebook Messenger", "instagram": "Instagram Direct", "whatsapp": "WhatsApp"}
CHANNEL_NAMES = {"messenger": "Facebook Messenger", "instagram": "Instagram", "whatsapp": "WhatsApp"}
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


class PermanentStepError(Exception):
    """The step cannot succeed by retrying: the run fails with this reason."""


# ------------------------------------------------------------------ context of a run


@dataclass
class RunContext:
    """What conditions, variables and actions read, loaded at most once and only when needed."""

    workspace_id: str
    conversation_id: str | None
    contact_id: str | None
    data: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def conversation(self) -> Conversation | None:
        if not self.conversation_id:
            return None
        try:
            return Conversation.get(
                *Conversation.key(self.workspace_id, self.conversation_id), consistent_read=True
            )
        except Conversation.DoesNotExist:
            return None

    @cached_property
    def identity(self) -> Identity | None:
        conversation = self.conversation
        if conversation is None:
            return None
        try:
            return Identity.get(
                *Identity.key(self.workspace_id, conversation.identity_id), consistent_read=True
            )
        except Identity.DoesNotExist:
            return None

    @cached_property
    def contact(self) -> Contact | None:
        contact_id = self.contact_id
        if contact_id is None and self.conversation_id:
            identity = self.identity
            contact_id = (identity.contact_id if identity else None) or (
                self.conversation.contact_id if self.conversation else None
            )
        if not contact_id:
            return None
        try:
            contact = Contact.get(*Contact.key(self.workspace_id, contact_id), consistent_read=True)
        except Contact.DoesNotExist:
            return None
        return None if contact.deleted else contact

    @cached_property
    def workspace(self) -> Workspace | None:
        try:
            return Workspace.get(*Workspace.key(self.workspace_id))
        except Workspace.DoesNotExist:
            return None

    def forget(self) -> None:
        for name in ("conversation", "identity", "contact"):
            self.__dict__.pop(name, None)

    def blocked(self) -> bool:
        if self.conversation_id and self.identity is not None and self.identity.blocked:
            return True
        contact = self.contact
        return bool(contact and contact.blocked)

    def value(self, name: str) -> Any:
        contact, conversation, identity = self.contact, None, None
        if name.startswith("conversation."):
            conversation = self.conversation
        if name.startswith("contact.") and name not in ("contact.id", "contact.tags"):
            identity = self.identity if self.conversation_id else None
        match name:
            case "contact.id":
                return contact.contact_id if contact else None
            case "contact.first_name":
                return (contact.first_name if contact else None) or (
                    identity.first_name if identity else None
                )
            case "contact.last_name":
                return (contact.last_name if contact else None) or (identity.last_name if identity else None)
            case "contact.name":
                first = self.value("contact.first_name")
                last = self.value("contact.last_name")
                joined = " ".join(part for part in (first, last) if part)
                display = (contact.display_name if contact else None) or (
                    identity.display_name if identity else None
                )
                return joined or display
            case "contact.email":
                return contact.emails[0] if contact and contact.emails else None
            case "contact.phone":
                return (contact.primary_phone if contact else None) or (identity.phone if identity else None)
            case "contact.company":
                return contact.company if contact else None
            case "contact.tags":
                return list(contact.tags or []) if contact else []
            case "conversation.channel":
                return conversation.platform if conversation else self.data.get("channel")
            case "conversation.status":
                return conversation.status if conversation else None
            case "conversation.assignee_id":
                return conversation.assignee_id if conversation else None
            case "conversation.kind":
                return conversation.kind if conversation else None
            case "conversation.display_name":
                return conversation.display_name if conversation else None
            case "conversation.handle":
                return conversation.handle if conversation else None
            case "message.text":
                return self.data.get("text")
        return None

    def variables(self) -> dict[str, str | None]:
        values = {name: self.value(name) for name in fm.VARIABLES}
        channel = values.get("conversation.channel")
        values["conversation.channel"] = CHANNEL_NAMES.get(str(channel), channel) if channel else None
        return {name: (str(value) if value is not None else None) for name, value in values.items()}

    def timezone(self) -> str:
        workspace = self.workspace
        return workspace.timezone if workspace and workspace.timezone else "America/Mexico_City"


def in_hours(schedule: dict[str, Any], timezone: str, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(schedule.get("timezone") or timezone))
    if local.weekday() not in schedule.get("days", [0, 1, 2, 3, 4]):
        return False
    current = local.strftime("%H:%M")
    start, end = schedule.get("start", "09:00"), schedule.get("end", "18:00")
    if start <= end:
        return start <= current < end
    return current >= start or current < end  # overnight hours, e.g. 20:00-02:00


def _condition_holds(condition: dict[str, Any], context: RunContext, now: datetime) -> bool:
    op = condition["op"]
    if op in ("in_hours", "out_of_hours"):
        inside = in_hours(condition.get("schedule") or {}, context.timezone(), now)
        return inside if op == "in_hours" else not inside
    value = context.value(condition["field"])
    wanted = condition.get("value")
    if op == "is_set":
        return bool(value)
    if op == "is_not_set":
        return not value
    if op in ("has_tag", "not_has_tag"):
        from inbox_crm.contacts.tags import tag_id_for

        tags = set(value or [])
        held = wanted in tags or tag_id_for(context.workspace_id, str(wanted)) in tags
        return held if op == "has_tag" else not held
    text = fold(str(value)) if value is not None else ""
    target = fold(str(wanted or ""))
    if op == "equals":
        return text == target
    if op == "not_equals":
        return text != target
    if op == "contains":
        return bool(target) and target in text
    return False


def conditions_hold(conditions: list[dict[str, Any]], match: str, context: RunContext, now: datetime) -> bool:
    if not conditions:
        return True
    results = (_condition_holds(condition, context, now) for condition in conditions)
    return all(results) if match == "all" else any(results)


# ------------------------------------------------------------------ triggers


def trigger_matches(trigger: dict[str, Any], event_name: str, detail: dict[str, Any]) -> bool:
    kind = trigger["type"]
    if fm.TRIGGER_EVENTS.get(kind) != event_name:
        return False
    channel = trigger.get("channel", "any")
    if channel != "any" and detail.get("channel") != channel:
        return False
    if kind == "message_received":
        return fm.keyword_matches(
            detail.get("text"), trigger.get("keywords") or [], trigger.get("keyword_match", "contains_any")
        )
    if kind == "postback_received":
        return bool(detail.get("payload")) and str(detail["payload"]).strip() == trigger["payload"].strip()
    if kind == "comment_received":
        if detail.get("account_id") != trigger["account_id"]:
            return False
        if detail.get("is_reply") and not trigger.get("include_replies"):
            return False
        posts = trigger.get("post_ids")
        if posts:
            post = str(detail.get("post_id") or "")
            return any(post == wanted or post.endswith(f"_{wanted}") for wanted in posts)
        return True
    if kind == "tag_added":
        return detail.get("tag_id") == trigger["tag_id"]
    return True


def handle_domain_event(event_name: str, detail: dict[str, Any]) -> dict[str, Any]:
    """A domain event: start a run of every enabled flow of the workspace whose trigger matches."""
    workspace_id = detail.get("workspace_id")
    metadata = detail.get("metadata") or {}
    event_id = metadata.get("event_id")
    if not workspace_id or not event_id:
        return {"started": [], "reason": "not a domain event"}
    candidates = [
        item
        for item in FlowTrigger.query(
            FlowTrigger.partition(workspace_id, event_name), FlowTrigger.sk.startswith("FLOW#")
        )
        if isinstance(item, FlowTrigger)
    ]
    context = RunContext(workspace_id, detail.get("conversation_id"), detail.get("contact_id"), detail)
    now = utcnow()
    started: list[str] = []
    skipped: dict[str, str] = {}
    for candidate in candidates:
        if metadata.get("caused_by_flow") == candidate.flow_id:
            skipped[candidate.flow_id] = "caused_by_this_flow"
            continue
        definition = json.loads(candidate.definition)
        if not trigger_matches(definition["trigger"], event_name, detail):
            continue
        if context.blocked():
            skipped[candidate.flow_id] = "contact_blocked"
            continue
        if not conditions_hold(
            definition.get("conditions") or [], definition.get("match", "all"), context, now
        ):
            skipped[candidate.flow_id] = "conditions_not_met"
            continue
        run = start_run(workspace_id, candidate, definition, event_name, detail, context, now)
        if run is not None:
            started.append(run.run_id)
    return {"started": started, "skipped": skipped, "candidates": len(candidates)}


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


# ------------------------------------------------------------------ runs and steps


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


def _trigger_data(run: FlowRun) -> dict[str, Any]:
    return dict(run.trigger.as_dict()) if run.trigger else {}


def _steps_of(run: FlowRun) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = json.loads(run.definition)["steps"]
    return steps


def _update_run(run: FlowRun, actions: list[Any], *, states: tuple[str, ...] = ("running",)) -> bool:
    condition = FlowRun.state.is_in(*states)
    try:
        run.update(actions=actions, condition=condition)
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return False
    return True


def _record_step(
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
    steps = _steps_of(run)
    context = context or RunContext(run.workspace_id, run.conversation_id, run.contact_id, _trigger_data(run))
    now = utcnow()
    while path is not None:
        step = fm.step_at(steps, path)
        kind = step["type"]
        if kind == "decision":
            holds = conditions_hold(step["conditions"], step.get("match", "all"), context, now)
            branch = "then" if holds else "else"
            _record_step(
                run,
                path,
                kind,
                "done",
                input={"conditions": step["conditions"]},
                result={"branch": branch},
                now=now,
            )
            path = f"{path}.{branch}.0" if step.get(branch) else fm.next_path(steps, path)
            continue
        if kind == "wait":
            due = now + timedelta(seconds=int(step["seconds"]))
            if not _record_step(run, path, kind, "waiting", input={"seconds": step["seconds"]}, now=now):
                existing = FlowRunStep.get(
                    *FlowRunStep.key(run.workspace_id, run.run_id, path), consistent_read=True
                )
                if existing.state == "done":
                    path = fm.next_path(steps, path)
                    continue
                return "waiting"
            _update_run(
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
        if run.current_path != path and not _update_run(run, [FlowRun.current_path.set(path)]):
            return "stopped"
        request_step(run, path, kind)
        return "requested"
    _update_run(
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
    changed = _update_run(
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


def _stop_run(run: FlowRun, reason: str, now: datetime) -> None:
    _update_run(
        run,
        [
            FlowRun.state.set("stopped"),
            FlowRun.error.set(reason),
            FlowRun.finished_at.set(now),
            *_off_due_index(),
        ],
        states=("running", "waiting"),
    )


# ------------------------------------------------------------------ performing an action step


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
        from inbox_crm.contacts.records import Actor

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


def perform_step(detail: dict[str, Any], actions: dict[str, Action]) -> dict[str, Any]:
    """A FlowActionRequested event, in the action's function. Raises on transient errors."""
    workspace_id, run_id, path = detail["workspace_id"], detail["run_id"], detail["path"]
    run, steps = load_run(workspace_id, run_id)
    if run is None:
        return {"outcome": "ignored", "reason": "no such run"}
    if run.state != "running":
        return {"outcome": "ignored", "reason": f"run is {run.state}"}
    definition_steps = _steps_of(run)
    step = fm.step_at(definition_steps, path)
    kind = step["type"]
    if kind not in actions:
        raise PermanentStepError(f"{kind} is not performed by this function")  # a routing bug: DLQ
    now = utcnow()
    context = RunContext(workspace_id, run.conversation_id, run.contact_id, _trigger_data(run))
    item = steps.get(path)
    if item is not None and item.state in ("done", "skipped"):
        advance(run, fm.next_path(definition_steps, path), context)  # the first delivery may not have
        return {"outcome": "duplicate", "state": item.state}
    if item is not None and item.state == "failed":
        return {"outcome": "duplicate", "state": "failed"}
    item = _claim_step(run, path, kind, item, now)
    if context.blocked():
        _finish_step(item, "skipped", {"reason": "contact_blocked"}, None, now)
        _stop_run(run, "contact_blocked", now)
        return {"outcome": "stopped", "reason": "contact_blocked"}
    call = StepCall(run, path, step, item, context)
    try:
        result = actions[kind](call)
    except (PermanentStepError, DomainError) as error:
        reason = getattr(error, "message", None) or str(error)
        _finish_step(item, "failed", None, reason, now)
        fail_run(run, path, reason, now)
        return {"outcome": "failed", "reason": reason}
    except Exception as error:
        if (item.attempts or 0) >= MAX_ATTEMPTS:
            reason = f"gave up after {item.attempts} attempts: {error!r}"
            _finish_step(item, "failed", None, reason, now)
            fail_run(run, path, reason, now)
            return {"outcome": "failed", "reason": reason}
        _note_error(item, repr(error))
        raise  # EventBridge retries with backoff, then the rule's dead-letter queue
    _finish_step(item, "done", result, None, now)
    contact_id = result.get("contact_id")
    if contact_id and contact_id != run.contact_id:
        _update_run(run, [FlowRun.contact_id.set(contact_id)])
        run.contact_id = contact_id
        context.contact_id = contact_id
        context.forget()
    outcome = advance(run, fm.next_path(definition_steps, path), context)
    return {"outcome": "done", "result": result, "next": outcome}


def _claim_step(run: FlowRun, path: str, kind: str, item: FlowRunStep | None, now: datetime) -> FlowRunStep:
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


def _finish_step(
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


def _note_error(item: FlowRunStep, error: str) -> None:
    item.update(actions=[FlowRunStep.error.set(error[:1000])])


def _set_input(call: StepCall, values: dict[str, Any]) -> None:
    call.item.update(actions=[FlowRunStep.input.set(compact(values))])


# ------------------------------------------------------------------ the actions


def act_create_contact(call: StepCall) -> dict[str, Any]:
    """Crear/asociar contacto, the seeds' semantics: look the sender up by Facebook ID (the PSID on
    this Page), Instagram username or WhatsApp phone; found -> link the conversation and its history
    (missing names filled from Meta); not found -> create with Meta's first/last name and the identity."""
    from inbox_crm.contacts import lookup
    from inbox_crm.contacts import records as contacts
    from inbox_crm.identity.enrichment import enrich_identity

    conversation = call.conversation()
    workspace_id = call.run.workspace_id
    identity = call.context.identity
    if identity is None:
        raise PermanentStepError("the conversation's sender is unknown")
    if identity.platform in ("messenger", "instagram") and identity.profile_status is None:
        # Meta's names and the Instagram username: fetched now if enrichment has not run yet.
        enrich_identity(workspace_id, identity.identity_id)
        call.context.forget()
        identity = call.context.identity
        assert identity is not None
    actor = call.actor()
    outcome = "already_linked"
    contact_id = identity.contact_id
    looked_up_by: str | None = None
    if contact_id is None:
        candidates: list[str] = []
        if identity.platform == "messenger":
            looked_up_by = "facebook_id"
            candidates = lookup.contacts_by_facebook_id(workspace_id, identity.external_id)
        elif identity.platform == "instagram" and identity.username:
            looked_up_by = "instagram_username"
            candidates = lookup.contacts_by_instagram_username(workspace_id, identity.username)
        elif identity.platform == "whatsapp" and identity.phone:
            looked_up_by = "whatsapp_phone"
            candidates = lookup.contacts_by_phone(workspace_id, identity.phone)
        found = next((c for c in contacts.oldest_first(workspace_id, candidates)), None)
        try:
            if found is not None:
                linked = contacts.link_conversation(
                    workspace_id, conversation.conversation_id, actor, contact_id=found.contact_id
                )
                outcome = "linked"
            else:
                linked = contacts.link_conversation(
                    workspace_id, conversation.conversation_id, actor, new_contact={}
                )
                outcome = "created" if linked.created else "linked"
            contact_id = linked.contact.contact_id
        except Conflict:
            # linked meanwhile (a concurrent delivery, an agent, WhatsApp auto-link): that contact it is
            call.context.forget()
            current = call.context.identity
            if current is None or current.contact_id is None:
                raise
            contact_id = current.contact_id
    else:
        # Already linked: the conversation and its history show it, and missing names are filled.
        contacts.link_conversation(workspace_id, conversation.conversation_id, actor, contact_id=contact_id)
        contacts.refresh_identity(workspace_id, identity.identity_id)
    result: dict[str, Any] = {
        "contact_id": contact_id,
        "outcome": outcome,
        "looked_up_by": looked_up_by,
        "identity_id": identity.identity_id,
        "channel": identity.platform,
    }
    if call.step.get("add_source_tag"):
        tag_name = SOURCE_TAGS[identity.platform]
        tag_id = ensure_tag(workspace_id, tag_name, call.run.flow_id)
        contacts.add_tag(workspace_id, contact_id, tag_id, actor)
        result["source_tag"] = tag_name
    return result


def ensure_tag(workspace_id: str, name: str, created_by: str) -> str:
    from inbox_crm.contacts.tags import create_tag, tag_id_for

    tag_id = tag_id_for(workspace_id, name)
    with suppress(Conflict):  # it exists (one tag per name)
        create_tag(workspace_id, name, None, created_by)
    return tag_id


def act_tag(call: StepCall) -> dict[str, Any]:
    from inbox_crm.contacts import records as contacts

    contact_id = call.contact_id()
    tag_id = call.step["tag_id"]
    if call.step["type"] == "add_tag":
        contacts.add_tag(call.run.workspace_id, contact_id, tag_id, call.actor())
    else:
        contacts.remove_tag(call.run.workspace_id, contact_id, tag_id, call.actor())
    return {"contact_id": contact_id, "tag_id": tag_id, "done": call.step["type"]}


def _send(call: StepCall, text: str | None, reply_mode: str, **content: Any) -> dict[str, Any]:
    from inbox_crm.meta.policy import Sender
    from inbox_crm.meta.send import OutboundContent
    from inbox_crm.outbound import sending as outbound

    conversation = call.conversation()
    variables = call.context.variables()
    rendered = fm.render(text, variables) if text else None
    _set_input(call, {"text": rendered, "reply_mode": reply_mode, **content})
    spec = outbound.SendSpec(
        content=OutboundContent(text=rendered, **content),
        reply_mode=reply_mode,
        comment_id=_trigger_data(call.run).get("comment_id") if reply_mode != "message" else None,
        idempotency_key=call.idempotency_key,
    )
    author = outbound.Author(Sender.AUTOMATION, call.run.flow_id, caused_by_flow=call.run.flow_id)
    composed = outbound.compose(call.run.workspace_id, conversation.conversation_id, spec, author)
    message = composed.message
    if message.status == "queued":  # a first attempt that stopped before sending sends now
        message = outbound.deliver(message, conversation=composed.conversation, identity=composed.identity)
    if message.status == "failed":
        raise PermanentStepError(message.error_reason or "the message could not be sent")
    return {"message_id": message.message_id, "status": message.status, "created": composed.created}


def act_send_message(call: StepCall) -> dict[str, Any]:
    return _send(
        call,
        call.step.get("text"),
        "message",
        attachments=[dict(item) for item in call.step.get("attachments") or []],
        buttons=[dict(item) for item in call.step.get("buttons") or []],
    )


def act_reply_comment(call: StepCall) -> dict[str, Any]:
    if call.conversation().kind != "comment":
        raise PermanentStepError("reply_comment answers a comment conversation")
    mode = "public_reply" if call.step["mode"] == "public" else "private_reply"
    return _send(call, call.step["text"], mode)


def _round_robin(call: StepCall, user_ids: list[str]) -> str:
    memo: dict[str, Any] = call.item.memo.as_dict() if call.item.memo else {}
    if memo.get("assignee"):
        return str(memo["assignee"])
    key = FlowCounter.key(call.run.workspace_id, call.run.flow_id, call.path)
    answer = client("dynamodb").update_item(
        TableName=get_settings().table_name,
        Key={"pk": {"S": key[0]}, "sk": {"S": key[1]}},
        UpdateExpression="ADD #value :one SET #type = :type",
        ExpressionAttributeNames={"#value": "value", "#type": "type"},
        ExpressionAttributeValues={":one": {"N": "1"}, ":type": {"S": "FlowCounter"}},
        ReturnValues="UPDATED_NEW",
    )
    position = int(answer["Attributes"]["value"]["N"]) - 1
    pick = user_ids[position % len(user_ids)]
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


def _change(call: StepCall) -> Any:
    from inbox_crm.inbox.conversations import Change

    run = call.run
    # The run's step is the cause: a retried step commits the same event id.
    return Change(
        by=run.flow_id,
        cause=f"{run.run_id}:{call.path}",
        correlation_id=run.correlation_id,
        caused_by_flow=run.flow_id,
    )


def act_assign(call: StepCall) -> dict[str, Any]:
    from inbox_crm.inbox import conversations

    conversation = call.conversation()
    user_ids = call.step.get("user_ids")
    user_id = _round_robin(call, list(user_ids)) if user_ids else call.step["user_id"]
    conversations.assign_conversation(
        call.run.workspace_id, conversation.conversation_id, user_id, _change(call)
    )
    return {"assignee_id": user_id, "round_robin": bool(user_ids)}


def act_close(call: StepCall) -> dict[str, Any]:
    from inbox_crm.inbox import conversations

    conversation, changed = conversations.close_conversation(
        call.run.workspace_id, call.conversation().conversation_id, _change(call)
    )
    return {"status": conversation.status, "changed": changed}


ACTIONS: dict[str, Action] = {
    "create_contact": act_create_contact,
    "add_tag": act_tag,
    "remove_tag": act_tag,
    "send_message": act_send_message,
    "assign": act_assign,
    "close": act_close,
    "reply_comment": act_reply_comment,
}


def actions_for(*types: str) -> dict[str, Action]:
    return {name: ACTIONS[name] for name in types}


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
    steps = _steps_of(run)
    path: str | None = run.current_path or "0"
    if fm.step_at(steps, run.current_path or "0")["type"] == "wait":
        item = FlowRunStep(*FlowRunStep.key(run.workspace_id, run.run_id, run.current_path or "0"))
        try:
            flow = Flow.get(*Flow.key(run.workspace_id, run.flow_id))
            active = flow.state == "active"
        except Flow.DoesNotExist:
            active = False
        if not active:
            _finish_step(item, "skipped", {"reason": "flow_disabled"}, None, now)
            _stop_run(run, "flow_disabled", now)
            return "stopped"
        _finish_step(item, "done", {"resumed_at": now.isoformat()}, None, now)
        path = fm.next_path(steps, run.current_path or "0")
    advance(run, path)
    _settle_wait(run)
    return "resumed"


def step_event_detail(envelope: dict[str, Any]) -> dict[str, Any]:
    detail = envelope.get("detail") or {}
    if not isinstance(detail, dict) or "run_id" not in detail:
        raise NotFound("not a flow step event")
    return detail
