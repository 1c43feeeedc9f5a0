"""Issue 5: DynamoDB requests per flow run (engine + create/associate contact) and the in-process
webhook-to-contact-linked latency (ingest -> engine -> action function, as the rules chain them)."""

from __future__ import annotations

import itertools
from typing import Any

from bench.meter import measure

PAGE = "105000000000005"


def run() -> list[dict[str, Any]]:
    import os

    from inbox_crm.core.settings import get_settings
    from inbox_crm.core.timeutil import to_millis, utcnow
    from inbox_crm.flows import definitions as flows
    from inbox_crm.flows.actions import actions_for
    from inbox_crm.flows.runs import perform_step, run_id_for
    from inbox_crm.flows.triggers import handle_domain_event
    from inbox_crm.ingest.pipeline import ingest
    from inbox_crm.meta.units import InboundUnit, UnitKind
    from inbox_crm.store.models import Conversation, User, Workspace
    from inbox_crm.workspaces import channels
    from inbox_local.graph_standin import GraphStandIn

    stand_in = GraphStandIn(port=0).start()
    os.environ["GRAPH_API_BASE_URL"] = stand_in.url
    os.environ["LOCAL_PAGE_TOKENS"] = f"{PAGE}=bench-page-token"
    get_settings.cache_clear()
    Workspace(*Workspace.key("ws_bench"), workspace_id="ws_bench", name="Bench").save()
    User(
        *User.key("ws_bench", "usr_b"), workspace_id="ws_bench", user_id="usr_b", email="b@x", role="owner"
    ).save()
    channels.register_channel("ws_bench", "messenger", PAGE, "Bench", "usr_b")
    flow = flows.instantiate_template(
        "ws_bench", "register_messenger_senders", {}, "usr_b", name=None, enable=True
    )
    senders = itertools.count(7200000000000001)

    def new_conversation() -> tuple[dict[str, Any], str]:
        customer = str(next(senders))
        result = ingest(
            InboundUnit(
                kind=UnitKind.MESSAGE,
                platform="messenger",
                account_id=PAGE,
                customer_id=customer,
                timestamp_ms=to_millis(utcnow()),
                platform_message_id=f"m_bench_{customer}",
                dedupe_key=f"m_bench_{customer}",
                text="hola",
            )
        )
        opened = next(event for event in result.events if event.name == "ConversationOpened")
        return opened.detail(), opened.data["conversation_id"]

    def step_detail(opened: dict[str, Any]) -> dict[str, Any]:
        run_id = run_id_for(flow.flow_id, opened["metadata"]["event_id"])
        return {"workspace_id": "ws_bench", "run_id": run_id, "path": "0", "action": "create_contact"}

    actions = actions_for("create_contact")
    prepared: list[tuple[dict[str, Any], str]] = []

    def action_only() -> None:
        opened, _ = prepared.pop(0)
        assert perform_step(step_detail(opened), actions)["outcome"] == "done"

    def webhook_to_contact_linked() -> None:
        opened, conversation_id = new_conversation()
        handle_domain_event("ConversationOpened", opened)
        perform_step(step_detail(opened), actions)
        linked = Conversation.get(*Conversation.key("ws_bench", conversation_id))
        assert linked.contact_id

    # the engine's cost is measured without the ingest that precedes it: ingest outside the meter
    results = []
    runs = 20
    items = [new_conversation() for _ in range(runs)]
    iterator = iter(items)

    def engine_step() -> None:
        opened, _ = next(iterator)
        assert handle_domain_event("ConversationOpened", opened)["started"]

    results.append(measure("flow engine: event -> run started + step requested", engine_step, runs=runs))
    prepared.extend(items)
    results.append(
        measure(
            "flow action: create/associate contact (new sender: profile fetch + lookup + create + link)",
            action_only,
            runs=runs,
        )
    )
    results.append(
        measure(
            "in-process webhook unit -> contact linked (ingest + engine + action)",
            webhook_to_contact_linked,
            runs=runs,
        )
    )
    stand_in.stop()
    return results
