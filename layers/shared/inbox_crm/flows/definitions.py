"""Flows of a workspace: create, edit (versioned), enable / disable, delete, templates and run history.

An enabled flow is also written as a ``FlowTrigger`` item under the domain event its trigger listens
to, in the same transaction as the flow, so the engine finds the candidates of an event with one
Query and never reads a disabled flow.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from inbox_crm.contacts.values import InvalidFields, looks_like_id
from inbox_crm.core.errors import Conflict, NotFound, PreconditionFailed
from inbox_crm.core.ids import new_id
from inbox_crm.core.timeutil import utcnow
from inbox_crm.flows import model as fm
from inbox_crm.flows import templates as flows_templates
from inbox_crm.store.cursor import decode_cursor, encode_cursor
from inbox_crm.store.models import (
    ChannelAccount,
    Flow,
    FlowRun,
    FlowRunStep,
    FlowTrigger,
    InboxItem,
    User,
    ws_pk,
)
from inbox_crm.store.transactions import TransactionConflict, transaction

MAX_FLOWS = 200


@dataclass
class RunPage:
    items: list[tuple[FlowRun, list[FlowRunStep]]]
    next_cursor: str | None


def definition_of(flow: Flow) -> dict[str, Any]:
    definition: dict[str, Any] = json.loads(flow.definition)
    return definition


def list_flows(workspace_id: str) -> list[Flow]:
    items = Flow.query(ws_pk(workspace_id), Flow.sk.startswith("FLOW#"), consistent_read=True)
    return [item for item in items if isinstance(item, Flow)]


def get_flow(workspace_id: str, flow_id: str) -> Flow:
    if not looks_like_id(flow_id):
        raise NotFound("No such flow")
    try:
        return Flow.get(*Flow.key(workspace_id, flow_id), consistent_read=True)
    except Flow.DoesNotExist:
        raise NotFound("No such flow") from None


def check_references(workspace_id: str, definition: dict[str, Any]) -> None:
    """What the schema cannot know: the tags, members and Pages the flow names exist here."""
    from inbox_crm.contacts.tags import get_tag

    errors: list[dict[str, Any]] = []
    trigger = definition["trigger"]
    if trigger["type"] == "tag_added":
        try:
            get_tag(workspace_id, trigger["tag_id"])
        except NotFound:
            errors.append({"loc": ["trigger", "tag_id"], "msg": "no such tag", "type": "unknown_tag"})
    if trigger["type"] == "comment_received":
        pages = {
            channel.account_id
            for channel in ChannelAccount.query(ws_pk(workspace_id), ChannelAccount.sk.startswith("CHANNEL#"))
            if isinstance(channel, ChannelAccount)
            and channel.platform == "messenger"
            and channel.status == "active"
        }
        if trigger["account_id"] not in pages:
            errors.append(
                {
                    "loc": ["trigger", "account_id"],
                    "msg": "not a Page of this workspace",
                    "type": "unknown_page",
                }
            )
    users: dict[str, list[list[str | int]]] = {}
    for path, step in fm.walk(definition["steps"]):
        loc: list[str | int] = ["steps", *[int(p) if p.isdigit() else p for p in path.split(".")]]
        if step["type"] in ("add_tag", "remove_tag"):
            try:
                get_tag(workspace_id, step["tag_id"])
            except NotFound:
                errors.append({"loc": [*loc, "tag_id"], "msg": "no such tag", "type": "unknown_tag"})
        if step["type"] == "assign":
            for user_id in step.get("user_ids") or [step.get("user_id")]:
                users.setdefault(str(user_id), []).append(
                    [*loc, "user_ids" if step.get("user_ids") else "user_id"]
                )
    if users:
        keys = [User.key(workspace_id, user_id) for user_id in users]
        members = {item.user_id for item in User.batch_get(keys) if isinstance(item, User)}
        for user_id, locs in users.items():
            if user_id not in members:
                errors += [
                    {"loc": loc, "msg": f"{user_id} is not a member", "type": "unknown_user"} for loc in locs
                ]
    if errors:
        raise InvalidFields(errors, "The flow is invalid")


def _trigger_item(flow: Flow) -> FlowTrigger:
    return FlowTrigger(
        *FlowTrigger.key(flow.workspace_id, flow.trigger_event, flow.flow_id),
        flow_id=flow.flow_id,
        flow_version=flow.flow_version,
        definition=flow.definition,
    )


def create_flow(
    workspace_id: str,
    name: str,
    raw_definition: Any,
    created_by: str,
    *,
    template_key: str | None = None,
) -> Flow:
    definition = fm.validate_definition(raw_definition)
    check_references(workspace_id, definition)
    if len(list_flows(workspace_id)) >= MAX_FLOWS:
        raise Conflict(f"A workspace can have at most {MAX_FLOWS} flows")
    now = utcnow()
    flow_id = new_id("flw")
    flow = Flow(
        *Flow.key(workspace_id, flow_id),
        workspace_id=workspace_id,
        flow_id=flow_id,
        name=" ".join(name.split()) or "Flujo",
        state="draft",
        flow_version=1,
        trigger_event=fm.TRIGGER_EVENTS[definition["trigger"]["type"]],
        definition=json.dumps(definition, ensure_ascii=False),
        template_key=template_key,
        error_count=0,
        created_by=created_by,
        created_at=now,
        updated_at=now,
        updated_by=created_by,
    )
    flow.save(condition=Flow.pk.does_not_exist())
    return flow


def _write(before: Flow, after: Flow) -> None:
    """The flow at the version read, and its trigger index entry as its new state says."""
    try:
        with transaction() as tx:
            if before.state == "active" and (
                before.trigger_event != after.trigger_event or after.state != "active"
            ):
                tx.delete(
                    FlowTrigger(*FlowTrigger.key(before.workspace_id, before.trigger_event, before.flow_id))
                )
            tx.save(
                after,
                condition=(Flow.flow_version == before.flow_version) & (Flow.state == before.state),
            )
            if after.state == "active":
                tx.save(_trigger_item(after))
    except TransactionConflict:
        raise PreconditionFailed("The flow was changed meanwhile; read it again") from None


def _copy(flow: Flow) -> Flow:
    return Flow.from_raw_data(flow.serialize())


def update_flow(
    workspace_id: str,
    flow_id: str,
    name: str,
    raw_definition: Any,
    updated_by: str,
    expected_version: int | None = None,
) -> Flow:
    definition = fm.validate_definition(raw_definition)
    check_references(workspace_id, definition)
    before = get_flow(workspace_id, flow_id)
    if expected_version is not None and expected_version != before.flow_version:
        raise PreconditionFailed(
            "The flow was changed since you read it",
            {"your_version": expected_version, "version": before.flow_version},
        )
    after = _copy(before)
    after.name = " ".join(name.split()) or before.name
    after.definition = json.dumps(definition, ensure_ascii=False)
    after.trigger_event = fm.TRIGGER_EVENTS[definition["trigger"]["type"]]
    after.flow_version = before.flow_version + 1
    after.updated_at = utcnow()
    after.updated_by = updated_by
    _write(before, after)
    return after


def set_state(workspace_id: str, flow_id: str, state: str, updated_by: str) -> Flow:
    before = get_flow(workspace_id, flow_id)
    if before.state == state:
        return before
    after = _copy(before)
    after.state = state
    after.updated_at = utcnow()
    after.updated_by = updated_by
    if state == "active":
        # re-check what the flow names: a tag or member may have gone since it was saved
        check_references(workspace_id, definition_of(before))
    _write(before, after)
    return after


def delete_flow(workspace_id: str, flow_id: str) -> None:
    flow = get_flow(workspace_id, flow_id)
    with transaction() as tx:
        tx.delete(flow)
        tx.delete(FlowTrigger(*FlowTrigger.key(workspace_id, flow.trigger_event, flow_id)))


def list_runs(workspace_id: str, flow_id: str, limit: int, cursor: str | None) -> RunPage:
    """Newest first, through gsi1 (the runs of one flow by start time); each run with its steps."""
    get_flow(workspace_id, flow_id)
    partition = FlowRun.listing_pk(workspace_id, flow_id)
    start_key = decode_cursor(cursor, partition_attribute="gsi1pk", partition_value=partition)
    results = FlowRun.inbox_index.query(
        partition, scan_index_forward=False, limit=limit, last_evaluated_key=start_key
    )
    runs = [item for item in results if isinstance(item, FlowRun)]
    items = []
    for run in runs:
        steps = [
            item
            for item in InboxItem.query(run.pk, InboxItem.sk.startswith("STEP#"), consistent_read=True)
            if isinstance(item, FlowRunStep)
        ]
        steps.sort(key=lambda step: (step.started_at, step.path))
        items.append((run, steps))
    return RunPage(items, encode_cursor(results.last_evaluated_key))


def last_run(workspace_id: str, flow_id: str) -> FlowRun | None:
    """The flow's newest run (gsi1, newest first): what the flows list shows as its last run."""
    results = FlowRun.inbox_index.query(
        FlowRun.listing_pk(workspace_id, flow_id), scan_index_forward=False, limit=1
    )
    return next((item for item in results if isinstance(item, FlowRun)), None)


def instantiate_template(
    workspace_id: str, key: str, params: dict[str, Any], created_by: str, *, name: str | None, enable: bool
) -> Flow:
    template = flows_templates.get(key)
    definition = template.build(params)
    flow = create_flow(workspace_id, name or template.name, definition, created_by, template_key=key)
    if enable:
        flow = set_state(workspace_id, flow.flow_id, "active", created_by)
    return flow
