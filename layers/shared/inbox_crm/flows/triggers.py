"""Domain events -> flows: one Query finds the workspace's enabled flows for the event (``FlowTrigger``
items under the event name); each flow whose trigger and conditions match gets a run. Events a flow
caused (``metadata.caused_by_flow``) never trigger that same flow."""

from __future__ import annotations

import json
from typing import Any

from inbox_crm.core.observability import tracer
from inbox_crm.core.timeutil import utcnow
from inbox_crm.flows import model
from inbox_crm.flows.context import RunContext, conditions_hold
from inbox_crm.flows.runs import start_run
from inbox_crm.store.models import FlowTrigger


def trigger_matches(trigger: dict[str, Any], event_name: str, detail: dict[str, Any]) -> bool:
    kind = trigger["type"]
    if model.TRIGGER_EVENTS.get(kind) != event_name:
        return False
    channel = trigger.get("channel", "any")
    if channel != "any" and detail.get("channel") != channel:
        return False
    if kind == "message_received":
        return model.keyword_matches(
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


@tracer.capture_method(capture_response=False)
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
