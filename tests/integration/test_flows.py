"""Issue 5: automation flows. Domain events reach the engine and the action functions exactly as the
EventBridge rules of template.yaml route them (FlowBus reads the rules), in-process on moto."""

from __future__ import annotations

import importlib
import json
from datetime import timedelta
from typing import Any

import pytest

from inbox_crm.contacts import tagging
from inbox_crm.contacts.actors import Actor
from inbox_crm.contacts.blocking import block_contact
from inbox_crm.contacts.editing import create_contact
from inbox_crm.contacts.tags import create_tag
from inbox_crm.core.timeutil import to_millis, utcnow
from inbox_crm.flows import runs
from inbox_crm.flows.context import in_hours
from inbox_crm.ingest.pipeline import ingest
from inbox_crm.meta.units import UnitComment, UnitKind
from inbox_crm.store.models import Contact, Conversation, FlowCounter, FlowRun, FlowRunStep, InboxItem
from inbox_crm.workspaces import channels
from inbox_local.apigw import lambda_context
from inbox_local.graph_standin import GraphStandIn
from inbox_local.template import load_template
from support.api import ApiClient
from support.crash import crash_once_before_delivery
from support.pipeline import FlakyBus, Pipeline
from support.units import IG_ACCOUNT, PAGE, WA_NUMBER, unit
from support.work import WorkQueue
from support.world import World

IG_SECOND = "17841400000000888"
FLOW_FUNCTIONS = ("FlowEngineFunction", "EnrichFunction")


def _matches(pattern: dict[str, Any], name: str, detail: dict[str, Any]) -> bool:
    if "inbox.crm" not in pattern.get("source", []) or name not in pattern.get("detail-type", []):
        return False
    return all(detail.get(key) in allowed for key, allowed in (pattern.get("detail") or {}).items())


class FlowBus:
    """Delivers what reaches the bus to the functions whose template.yaml rules match, until quiet."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.delivered = 0
        self.rules = [
            (spec, props["Pattern"])
            for spec, _, props in load_template().events_of_type("EventBridgeRule")
            if spec.logical_id in FLOW_FUNCTIONS or spec.logical_id.startswith("FlowAction")
        ]
        self.invocations: list[tuple[str, str, dict[str, Any]]] = []

    def deliver(self, name: str, detail: dict[str, Any]) -> None:
        envelope = {
            "version": "0",
            "id": detail.get("metadata", {}).get("event_id", "x"),
            "detail-type": name,
            "source": "inbox.crm",
            "account": "123456789012",
            "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": detail,
        }
        for spec, pattern in self.rules:
            if _matches(pattern, name, detail):
                handler = getattr(importlib.import_module(spec.module), spec.attribute)
                result = handler(json.loads(json.dumps(envelope)), lambda_context(spec.logical_id))
                self.invocations.append((spec.logical_id, name, result))

    def settle(self, rounds: int = 50) -> list[Any]:
        for _ in range(rounds):
            events = self.pipeline.events()
            fresh = events[self.delivered :]
            if not fresh:
                return events
            self.delivered = len(events)
            for event in fresh:
                self.deliver(event.name, event.detail)
        raise AssertionError("the flows never settled")

    def replay_all(self) -> None:
        """Every event delivered again (EventBridge's at-least-once delivery)."""
        for event in list(self.pipeline.events()):
            self.deliver(event.name, event.detail)
        self.settle()


@pytest.fixture
def bus(world: World, pipeline: Pipeline, graph: GraphStandIn, monkeypatch: pytest.MonkeyPatch) -> FlowBus:
    monkeypatch.setenv(
        "LOCAL_PAGE_TOKENS",
        f"{PAGE}=page-token,{IG_ACCOUNT}=ig-token,{IG_SECOND}=ig2-token,{WA_NUMBER}=wa-token",
    )
    from inbox_crm.core.settings import get_settings

    get_settings.cache_clear()
    channels.register_channel("ws_alpha", "messenger", PAGE, "Alpha FB", "usr_alpha_owner")
    channels.register_channel("ws_alpha", "instagram", IG_ACCOUNT, "Alpha IG", "usr_alpha_owner")
    channels.register_channel("ws_alpha", "instagram", IG_SECOND, "Alpha IG 2", "usr_alpha_owner")
    channels.register_channel("ws_alpha", "whatsapp", WA_NUMBER, "Alpha WA", "usr_alpha_owner")
    return FlowBus(pipeline)


def _ingest(inbound: Any) -> None:
    """As the ingest function does: store the unit, and with it what happened (the outbox)."""
    ingest(inbound)


def _message(text: str = "hola", **fields: Any) -> None:
    fields.setdefault("timestamp_ms", to_millis(utcnow()))
    _ingest(unit(text=text, **fields))


def _contacts() -> list[Contact]:
    return [item for item in InboxItem.scan() if isinstance(item, Contact) and not item.deleted]


def _conversations(platform: str | None = None) -> list[Conversation]:
    return [
        item
        for item in InboxItem.scan()
        if isinstance(item, Conversation) and (platform is None or item.platform == platform)
    ]


def _template(api: ApiClient, key: str, **body: Any) -> dict[str, Any]:
    reply = api.post(f"/v1/flow-templates/{key}", {"enable": True, **body})
    assert reply.status == 201, reply.text
    flow: dict[str, Any] = reply.json()
    assert flow["state"] == "active"
    return flow


def _flow(api: ApiClient, definition: dict[str, Any], *, enable: bool = True) -> dict[str, Any]:
    reply = api.post("/v1/flows", {"name": "Prueba", **definition})
    assert reply.status == 201, reply.text
    flow: dict[str, Any] = reply.json()
    if enable:
        flow = api.post(f"/v1/flows/{flow['id']}/enable").json()
    return flow


def _runs(api: ApiClient, flow_id: str) -> list[dict[str, Any]]:
    reply = api.get(f"/v1/flows/{flow_id}/runs", as_="alpha_agent")
    assert reply.status == 200, reply.text
    runs: list[dict[str, Any]] = reply.json()["items"]
    return runs


def _tag_names(contact: Contact) -> set[str]:
    from inbox_crm.contacts.tags import list_tags

    names = {tag.tag_id: tag.name for tag in list_tags(contact.workspace_id)}
    return {names[tag_id] for tag_id in contact.tags or []}


# ------------------------------------------------------------------ create / associate contact


def test_register_messenger_senders_creates_one_contact_with_metas_names_exactly_once(
    api: ApiClient, bus: FlowBus
) -> None:
    flow = _template(api, "register_messenger_senders")
    _message("hola", customer_id="7000000000001234")
    bus.settle()

    [contact] = _contacts()
    assert (contact.first_name, contact.last_name) == ("Cliente", "1234")  # Meta's names (stand-in)
    assert [ref.external_id for ref in contact.identities or []] == ["7000000000001234"]  # Facebook ID
    assert _tag_names(contact) == {"Facebook Messenger"}
    [conversation] = _conversations()
    assert conversation.contact_id == contact.contact_id
    [run] = _runs(api, flow["id"])
    assert run["state"] == "completed"
    assert run["flow_version"] == 1
    assert run["trigger_event_name"] == "ConversationOpened"
    [step] = run["steps"]
    assert step["type"] == "create_contact"
    assert step["state"] == "done"
    assert step["result"]["outcome"] == "created"
    assert step["result"]["looked_up_by"] == "facebook_id"
    assert step["duration_ms"] is not None

    # Redelivered events, a second message: nothing more.
    bus.replay_all()
    _message("¿siguen ahí?", customer_id="7000000000001234")
    bus.settle()
    assert len(_contacts()) == 1
    assert len(_runs(api, flow["id"])) == 1
    # ContactCreated / TagAdded caused by the flow carry it (the loop guard).
    created = list(bus.pipeline.events("ContactCreated"))
    assert created
    assert all(e.detail["metadata"]["caused_by_flow"] == flow["id"] for e in created)


def test_the_flows_list_shows_each_flows_last_run(api: ApiClient, bus: FlowBus) -> None:
    """The Automatización list shows a flow's state and its last run without reading every run."""
    flow = _template(api, "register_messenger_senders")
    idle = _flow(api, {"trigger": {"type": "contact_created"}, "steps": [{"type": "close"}]}, enable=False)
    listed = {item["id"]: item for item in api.get("/v1/flows", as_="alpha_agent").json()["items"]}
    assert listed[flow["id"]]["last_run"] is None

    _message("hola", customer_id="7000000000005678")
    bus.settle()
    [run] = _runs(api, flow["id"])
    listed = {item["id"]: item for item in api.get("/v1/flows", as_="alpha_agent").json()["items"]}
    assert listed[flow["id"]]["last_run"]["id"] == run["id"]
    assert listed[flow["id"]]["last_run"]["state"] == "completed"
    assert listed[idle["id"]]["last_run"] is None
    assert api.get(f"/v1/flows/{flow['id']}").json()["last_run"]["id"] == run["id"]


def test_instagram_sender_found_by_username_is_associated_not_duplicated(
    api: ApiClient, bus: FlowBus
) -> None:
    _template(api, "register_instagram_senders")
    # The same person writes to two Instagram accounts of the workspace: different IGSIDs, one username.
    _message("hola", platform="instagram", account_id=IG_ACCOUNT, customer_id="8000000000654321")
    bus.settle()
    _message("hola", platform="instagram", account_id=IG_SECOND, customer_id="8100000000654321")
    bus.settle()

    [contact] = _contacts()
    assert {ref.username for ref in contact.identities or []} == {"cliente_654321"}
    assert len(contact.identities or []) == 2
    assert {c.contact_id for c in _conversations("instagram")} == {contact.contact_id}
    assert _tag_names(contact) == {"Instagram Direct"}


def test_whatsapp_sender_found_by_phone_is_linked_and_history_follows(api: ApiClient, bus: FlowBus) -> None:
    # The number is only a secondary phone: ingestion's auto-link leaves it, the flow's lookup finds it.
    existing = create_contact(
        "ws_alpha",
        {"first_name": "Lucía", "primary_phone": "+525511112222", "secondary_phones": ["+525512345678"]},
        Actor("usr_alpha_agent"),
    )
    _template(api, "register_whatsapp_senders")
    _message("hola", platform="whatsapp", account_id=WA_NUMBER, customer_id="5215512345678")
    bus.settle()

    [contact] = _contacts()
    assert contact.contact_id == existing.contact_id
    assert contact.first_name == "Lucía"  # filled only where missing
    assert contact.whatsapp_phone == "+525512345678"
    [conversation] = _conversations("whatsapp")
    assert conversation.contact_id == existing.contact_id
    assert _tag_names(contact) == {"WhatsApp"}


def test_seeds_caveat_same_person_with_another_email_becomes_a_second_contact(
    api: ApiClient, bus: FlowBus
) -> None:
    """The seeds: Facebook senders are identified by Meta's id only, never by email or phone; a person
    already in the CRM with an email or phone becomes a second contact (merge suggestions catch it)."""
    create_contact(
        "ws_alpha",
        {"first_name": "Cliente", "last_name": "4321", "emails": ["cliente@example.com"]},
        Actor("usr_alpha_agent"),
    )
    _template(api, "register_messenger_senders")
    _message("hola", customer_id="7000000000004321")
    bus.settle()

    people = _contacts()
    assert len(people) == 2
    assert {(c.first_name, c.last_name) for c in people} == {("Cliente", "4321")}


# ------------------------------------------------------------------ the other actions, waits, decisions


def test_send_wait_decision_round_robin_and_close(
    api: ApiClient, bus: FlowBus, graph: GraphStandIn, work_queue: WorkQueue
) -> None:
    flow = _flow(
        api,
        {
            "trigger": {"type": "conversation_opened", "channel": "messenger"},
            "steps": [
                {
                    "type": "send_message",
                    "text": "Hola {{contact.first_name}}, escribes por {{conversation.channel}}",
                    "buttons": [
                        {"type": "web_url", "title": "Catálogo", "url": "https://example.com/c"},
                        {"type": "postback", "title": "Hablar con alguien", "payload": "AGENTE"},
                    ],
                },
                {"type": "wait", "seconds": 60},
                {
                    "type": "decision",
                    "conditions": [{"field": "conversation.status", "op": "equals", "value": "open"}],
                    "then": [
                        {"type": "assign", "user_ids": ["usr_alpha_agent", "usr_alpha_manager"]},
                        {"type": "close"},
                    ],
                    "else": [],
                },
            ],
        },
    )
    _message("hola", customer_id="7000000000005555")
    _message("hola", customer_id="7000000000006666")
    bus.settle()

    sends = [r for r in graph.requests() if r["method"] == "POST" and r["path"].endswith("/messages")]
    assert len(sends) == 2
    body = sends[0]["body"]["message"]["attachment"]["payload"]
    assert body["text"].startswith("Hola Cliente, escribes por Facebook Messenger")
    assert len(body["buttons"]) == 2
    runs = _runs(api, flow["id"])
    assert {run["state"] for run in runs} == {"waiting"}

    assert work_queue.run_scheduler()["due"] == 0  # not yet due
    for run in [item for item in InboxItem.scan() if isinstance(item, FlowRun)]:
        past = utcnow() - timedelta(seconds=1)  # as if the minute had passed
        run.update(
            actions=[
                FlowRun.resume_at.set(past),
                FlowRun.gsi2sk.set(f"{to_millis(past):013d}#{run.workspace_id}#{run.run_id}"),
            ]
        )
    assert work_queue.run_scheduler()["enqueued"] == 2  # each waiting run is its own work item
    work_queue.drain()
    bus.settle()
    bus.replay_all()  # redelivered steps: still one message each, one assignment each

    runs = _runs(api, flow["id"])
    assert {run["state"] for run in runs} == {"completed"}
    conversations = _conversations()
    assert {c.assignee_id for c in conversations} == {"usr_alpha_agent", "usr_alpha_manager"}
    assert {c.status for c in conversations} == {"closed"}
    sends = [r for r in graph.requests() if r["method"] == "POST" and r["path"].endswith("/messages")]
    assert len(sends) == 2
    paths = [step["path"] for step in runs[0]["steps"]]
    assert paths == ["0", "1", "2", "2.then.0", "2.then.1"]
    # one round-robin counter for the step, read back as its model: two picks, once each
    [counter] = [item for item in InboxItem.scan() if isinstance(item, FlowCounter)]
    assert (counter.sk, counter.value) == ("2.then.0", 2)


def test_every_action_type_is_performed_by_one_action_module() -> None:
    from inbox_crm.flows import model
    from inbox_crm.flows.actions import MODULES, actions_for

    assert set(MODULES) == set(model.ACTION_TYPES)
    performed = actions_for(*model.ACTION_TYPES)
    assert {name: action.__module__.rsplit(".", 1)[-1] for name, action in performed.items()} == MODULES


def test_keyword_postback_and_comment_triggers(api: ApiClient, bus: FlowBus, graph: GraphStandIn) -> None:
    create_tag("ws_alpha", "Interesado", None, "usr_alpha_owner")
    from inbox_crm.contacts.tags import tag_id_for

    tag_id = tag_id_for("ws_alpha", "Interesado")
    keyword = _flow(
        api,
        {
            "trigger": {"type": "message_received", "keywords": ["precio", "costo"]},
            "steps": [{"type": "create_contact"}, {"type": "add_tag", "tag_id": tag_id}],
        },
    )
    postback = _flow(
        api,
        {
            "trigger": {"type": "postback_received", "payload": "AGENTE"},
            "steps": [{"type": "assign", "user_id": "usr_alpha_agent"}],
        },
    )
    comment = _flow(
        api,
        {
            "trigger": {"type": "comment_received", "account_id": PAGE, "post_ids": ["post9"]},
            "steps": [{"type": "reply_comment", "mode": "public", "text": "¡Te escribimos por privado!"}],
        },
    )
    _message("¿Cuál es el PRECIO?", customer_id="7000000000007777")  # case and accents ignored
    _message("gracias", customer_id="7000000000008888")
    _ingest(
        unit(
            UnitKind.POSTBACK,
            customer_id="7000000000008888",
            postback={"title": "Hablar con alguien", "payload": "AGENTE"},
            platform_message_id="m_postback_1",
            timestamp_ms=to_millis(utcnow()),
        )
    )
    now = to_millis(utcnow())
    for comment_id, is_reply, from_page in (
        ("post9_c1", False, False),
        ("post9_c2", True, False),
        ("post9_c3", False, True),
    ):
        _ingest(
            unit(
                UnitKind.COMMENT,
                text="info",
                customer_id=PAGE if from_page else "7000000000009999",
                platform_message_id=comment_id,
                timestamp_ms=now,
                comment=UnitComment(
                    comment_id=comment_id,
                    post_id=f"{PAGE}_post9",
                    parent_id="post9_c1" if is_reply else f"{PAGE}_post9",
                    verb="add",
                    is_reply=is_reply,
                    from_page=from_page,
                ),
            )
        )
    bus.settle()

    [keyword_run] = _runs(api, keyword["id"])
    assert keyword_run["state"] == "completed"
    tagged = [c for c in _contacts() if c.tags]
    assert len(tagged) == 1
    assert _tag_names(tagged[0]) == {"Interesado"}
    [postback_run] = _runs(api, postback["id"])
    assert postback_run["state"] == "completed"
    # only the customer's top-level comment: not the reply, not the Page's own comment
    [comment_run] = _runs(api, comment["id"])
    assert comment_run["state"] == "completed", comment_run
    replies = [r for r in graph.requests() if r["method"] == "POST" and "/comments" in r["path"]]
    assert len(replies) == 1


def test_loop_guard_failure_and_disabled_flow(api: ApiClient, bus: FlowBus) -> None:
    create_tag("ws_alpha", "VIP", None, "usr_alpha_owner")
    from inbox_crm.contacts.tags import tag_id_for

    vip = tag_id_for("ws_alpha", "VIP")
    # Re-adding the tag it was triggered by would trigger itself forever without the loop guard.
    looping = _flow(
        api,
        {
            "trigger": {"type": "tag_added", "tag_id": vip},
            "steps": [{"type": "remove_tag", "tag_id": vip}, {"type": "add_tag", "tag_id": vip}],
        },
    )
    # Tagging a conversation's sender with no contact cannot work: the run fails and says why.
    failing = _flow(
        api,
        {
            "trigger": {"type": "conversation_opened", "channel": "any"},
            "steps": [{"type": "add_tag", "tag_id": vip}],
        },
    )
    disabled = _template(api, "register_messenger_senders")
    assert api.post(f"/v1/flows/{disabled['id']}/disable").json()["state"] == "disabled"

    _message("hola", customer_id="7000000000001111")
    bus.settle()
    assert _contacts() == []  # the disabled flow did nothing
    assert _runs(api, disabled["id"]) == []
    [failed] = _runs(api, failing["id"])
    assert failed["state"] == "failed"
    assert failed["failed_path"] == "0"
    assert "no contact" in failed["error"]
    listed = {f["id"]: f for f in api.get("/v1/flows", as_="alpha_agent").json()["items"]}
    assert listed[failing["id"]]["error_count"] == 1
    assert "no contact" in listed[failing["id"]]["last_error"]

    person = create_contact(
        "ws_alpha", {"first_name": "Ana", "emails": ["ana@example.com"]}, Actor("usr_alpha_agent")
    )
    tagging.add_tag("ws_alpha", person.contact_id, vip, Actor("usr_alpha_agent"))
    bus.settle()
    [run] = _runs(api, looping["id"])
    assert run["state"] == "completed"
    again = [
        e for e in bus.pipeline.events("TagAdded") if e.detail["metadata"]["caused_by_flow"] == looping["id"]
    ]
    assert len(again) == 1
    assert any(
        result.get("skipped", {}).get(looping["id"]) == "caused_by_this_flow"
        for function, _, result in bus.invocations
        if function == "FlowEngineFunction"
    )


def test_blocked_contact_run_stops(api: ApiClient, bus: FlowBus) -> None:
    create_tag("ws_alpha", "Seguimiento", None, "usr_alpha_owner")
    from inbox_crm.contacts.tags import tag_id_for

    flow = _flow(
        api,
        {
            "trigger": {"type": "conversation_opened"},
            "steps": [
                {"type": "create_contact"},
                {"type": "wait", "seconds": 30},
                {"type": "add_tag", "tag_id": tag_id_for("ws_alpha", "Seguimiento")},
            ],
        },
    )
    _message("hola", customer_id="7000000000002222")
    bus.settle()
    [contact] = _contacts()
    block_contact("ws_alpha", contact.contact_id, Actor("usr_alpha_owner"))
    runs.resume_due_waits(utcnow() + timedelta(minutes=1))
    bus.settle()
    [run] = _runs(api, flow["id"])
    assert run["state"] == "stopped"
    assert run["error"] == "contact_blocked"
    assert not _contacts()[0].tags
    # a blocked sender's next conversation starts nothing (ingestion emits no events for it)
    runs_before = len([i for i in InboxItem.scan() if isinstance(i, FlowRun)])
    _message("otra vez", customer_id="7000000000002222")
    bus.settle()
    assert len([i for i in InboxItem.scan() if isinstance(i, FlowRun)]) == runs_before


# ------------------------------------------------------------------ API: validation, roles, versions


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"steps": [{"type": "teleport"}]}, "teleport"),
        (
            {
                "steps": [
                    {
                        "type": "send_message",
                        "text": "x",
                        "attachments": [{"type": "image", "url": "https://e.co/a.png"}] * 4,
                    }
                ]
            },
            "attachments",
        ),
        (
            {
                "steps": [
                    {
                        "type": "send_message",
                        "text": "x",
                        "buttons": [{"type": "postback", "title": "a", "payload": "A"}] * 3,
                    }
                ]
            },
            "buttons",
        ),
        ({"steps": [{"type": "send_message"}]}, "text or attachments"),
        ({"steps": [{"type": "send_message", "text": "Hola {{contact.apodo}}"}]}, "contact.apodo"),
        ({"trigger": {"type": "conversation_opened", "channel": "telegram"}}, "channel"),
        ({"trigger": {"type": "comment_received", "account_id": "999"}}, "not a Page of this workspace"),
        ({"steps": [{"type": "assign", "user_id": "usr_beta_agent"}]}, "not a member"),
        ({"steps": [{"type": "add_tag", "tag_id": "tag_nope"}]}, "no such tag"),
    ],
)
def test_invalid_flows_are_refused_naming_the_problem(
    api: ApiClient, bus: FlowBus, change: dict[str, Any], needle: str
) -> None:
    definition = {"trigger": {"type": "conversation_opened"}, "steps": [{"type": "close"}], **change}
    reply = api.post("/v1/flows", {"name": "Mal", **definition})
    assert reply.status == 422, reply.text
    assert needle in reply.text


def test_roles_versions_and_templates(api: ApiClient, bus: FlowBus) -> None:
    body = {"name": "Cerrar", "trigger": {"type": "conversation_opened"}, "steps": [{"type": "close"}]}
    assert api.post("/v1/flows", body, as_="alpha_agent").status == 403
    flow = api.post("/v1/flows", body, as_="alpha_manager").json()
    assert (flow["state"], flow["version"]) == ("draft", 1)
    edited = api.call("PUT", f"/v1/flows/{flow['id']}", body={**body, "name": "Cerrar todo", "version": 1})
    assert edited.status == 200
    assert edited.json()["version"] == 2
    stale = api.call("PUT", f"/v1/flows/{flow['id']}", body={**body, "version": 1})
    assert stale.status == 412
    assert api.get(f"/v1/flows/{flow['id']}", as_="beta_owner").status == 404
    templates = {t["key"] for t in api.get("/v1/flow-templates", as_="alpha_agent").json()["items"]}
    assert {
        "register_messenger_senders",
        "register_instagram_senders",
        "register_whatsapp_senders",
        "welcome_messenger",
        "out_of_hours",
        "assign_to_agent",
    } <= templates
    assert api.post("/v1/flow-templates/assign_to_agent", {"enable": True}).status == 422
    assert api.post("/v1/flow-templates/nope", {}).status == 404
    assert api.delete(f"/v1/flows/{flow['id']}").status == 204
    assert api.get(f"/v1/flows/{flow['id']}").status == 404


def test_welcome_and_out_of_hours_templates(api: ApiClient, bus: FlowBus, graph: GraphStandIn) -> None:
    _template(api, "welcome_messenger")
    # every day, all day long: the sender is always "out of hours" except for an impossible minute
    _template(
        api,
        "out_of_hours",
        params={"schedule": {"days": [0, 1, 2, 3, 4, 5, 6], "start": "00:00", "end": "00:00"}},
    )
    _template(api, "assign_to_agent", params={"user_ids": ["usr_alpha_agent"]})
    _message("hola", customer_id="7000000000003333")
    bus.settle()
    texts = [
        r["body"]["message"].get("text", "")
        for r in graph.requests()
        if r["method"] == "POST" and r["path"].endswith("/messages")
    ]
    assert any("correo electrónico" in text and "Cliente" in text for text in texts)
    assert any("horario de atención" in text for text in texts)
    [conversation] = _conversations()
    assert conversation.assignee_id == "usr_alpha_agent"


def test_in_hours_schedule_uses_the_timezone() -> None:
    from datetime import UTC, datetime

    schedule = {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}
    monday_noon_mexico = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)  # 12:00 in Mexico City
    assert in_hours(schedule, "America/Mexico_City", monday_noon_mexico)
    assert not in_hours(schedule, "Europe/Madrid", monday_noon_mexico)  # 19:00 in Madrid
    saturday = datetime(2026, 1, 10, 18, 0, tzinfo=UTC)
    assert not in_hours(schedule, "America/Mexico_City", saturday)


def test_a_flows_close_is_announced_although_the_bus_refused_it(
    api: ApiClient, bus: FlowBus, flaky_bus: FlakyBus
) -> None:
    """Issue 10: the action commits the close and its event together; the bus refusing the event
    delays it, and retrying the step (which finds the conversation closed) cannot lose it."""
    flow = _flow(
        api,
        {"trigger": {"type": "conversation_opened", "channel": "messenger"}, "steps": [{"type": "close"}]},
    )
    flaky_bus.refusing = {"ConversationClosed"}
    _message("hola", customer_id="7000000000007777")
    bus.settle()
    [run] = _runs(api, flow["id"])
    assert run["state"] == "completed"
    assert {c.status for c in _conversations()} == {"closed"}
    assert bus.pipeline.events("ConversationClosed") == []

    bus.replay_all()  # EventBridge redelivers the step: the conversation is closed already
    flaky_bus.heal()
    bus.settle()
    [closed] = bus.pipeline.events("ConversationClosed")
    assert closed.detail["metadata"]["caused_by_flow"] == flow["id"]
    assert closed.detail["by"] == flow["id"]


@pytest.mark.parametrize("retried_by", ["redelivery", "sweep"])
def test_a_resume_that_fails_after_claiming_the_wait_is_resumed_once(
    api: ApiClient,
    bus: FlowBus,
    graph: GraphStandIn,
    work_queue: WorkQueue,
    monkeypatch: pytest.MonkeyPatch,
    retried_by: str,
) -> None:
    """Issue 10: the resume claims the wait under a lease and the run stays on the due index until it
    has gone on, so a resume that dies after its claim is taken up again, and its next step runs once."""
    import scheduler_handler

    from inbox_crm.dispatch import work

    flow = _flow(
        api,
        {
            "trigger": {"type": "conversation_opened", "channel": "messenger"},
            "steps": [{"type": "wait", "seconds": 60}, {"type": "send_message", "text": "¿Seguimos?"}],
        },
    )
    _message("hola", customer_id="7000000000008888")
    bus.settle()
    [run] = _runs(api, flow["id"])
    assert run["state"] == "waiting"

    start = utcnow()

    def clock_at(moment: Any) -> None:  # the scheduler and the sender read one clock
        monkeypatch.setattr(scheduler_handler, "utcnow", lambda: moment)
        monkeypatch.setattr(work, "utcnow", lambda: moment)

    due = start + timedelta(seconds=61)
    clock_at(due)
    advance = runs.advance

    def dies(*args: Any, **kwargs: Any) -> str:
        raise RuntimeError("the sender died after claiming the wait")

    monkeypatch.setattr(runs, "advance", dies)
    assert work_queue.run_scheduler()["enqueued"] == 1
    assert len(work_queue.deliver_batch() or []) == 1  # reported failed: SQS redelivers it
    monkeypatch.setattr(runs, "advance", advance)
    bus.settle()
    assert [r for r in graph.requests() if r["method"] == "POST"] == []

    later = due + runs.WAIT_LEASE + timedelta(seconds=1)
    if retried_by == "redelivery":
        clock_at(later)
        assert work_queue.deliver_batch() == []  # the same work item, after the lease expired
    else:
        work_queue.drain()  # the redelivery comes while the lease holds: it leaves the run alone
        assert work_queue.run_scheduler()["due"] == 0
        clock_at(later)
        assert work_queue.run_scheduler()["enqueued"] == 1  # the sweep finds the expired claim
        work_queue.drain()
    bus.settle()
    [run] = _runs(api, flow["id"])
    assert run["state"] == "completed"
    bus.replay_all()  # every event again (at-least-once), and the work queue too: still one send
    work_queue.drain()

    [run] = _runs(api, flow["id"])
    assert [(step["path"], step["state"]) for step in run["steps"]] == [("0", "done"), ("1", "done")]
    sends = [r for r in graph.requests() if r["method"] == "POST" and r["path"].endswith("/messages")]
    assert [send["body"]["message"]["text"] for send in sends] == ["¿Seguimos?"]
    [stored] = [item for item in InboxItem.scan() if isinstance(item, FlowRun)]
    assert stored.gsi2pk is None  # settled: off the due index, the claim dropped
    assert stored.claim_id is None
    steps = [item for item in InboxItem.scan() if isinstance(item, FlowRunStep)]
    assert [(step.path, step.attempts) for step in steps if step.path == "1"] == [("1", 1)]
    clock_at(later + timedelta(hours=1))
    assert work_queue.run_scheduler()["due"] == 0


def test_a_resume_retaken_after_it_went_on_asks_for_the_next_step_once(
    api: ApiClient,
    bus: FlowBus,
    graph: GraphStandIn,
    work_queue: WorkQueue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The resumer requested the next action and died before settling its claim: the retaken claim
    asks again from where the run is, under the same event id, so the action runs once."""
    import scheduler_handler

    from inbox_crm.dispatch import work

    flow = _flow(
        api,
        {
            "trigger": {"type": "conversation_opened", "channel": "messenger"},
            "steps": [{"type": "wait", "seconds": 60}, {"type": "send_message", "text": "¿Seguimos?"}],
        },
    )
    _message("hola", customer_id="7000000000009999")
    bus.settle()

    def clock_at(moment: Any) -> None:
        monkeypatch.setattr(scheduler_handler, "utcnow", lambda: moment)
        monkeypatch.setattr(work, "utcnow", lambda: moment)

    due = utcnow() + timedelta(seconds=61)
    clock_at(due)
    settle = runs._settle_wait

    def dies(run: FlowRun) -> None:
        raise RuntimeError("the sender died before settling its claim")

    monkeypatch.setattr(runs, "_settle_wait", dies)
    assert work_queue.run_scheduler()["enqueued"] == 1
    assert len(work_queue.deliver_batch() or []) == 1
    monkeypatch.setattr(runs, "_settle_wait", settle)
    [run] = _runs(api, flow["id"])
    assert (run["state"], run["current_path"]) == ("running", "1")

    clock_at(due + runs.WAIT_LEASE + timedelta(seconds=1))
    work_queue.drain()  # the redelivered item retakes the expired claim
    bus.settle()
    [run] = _runs(api, flow["id"])
    assert run["state"] == "completed"
    assert len(bus.pipeline.events(runs.ACTION_EVENT)) == 1
    sends = [r for r in graph.requests() if r["method"] == "POST" and r["path"].endswith("/messages")]
    assert len(sends) == 1
    assert work_queue.run_scheduler()["due"] == 0


def test_a_flow_message_stored_but_not_delivered_is_delivered_once_by_the_retried_step(
    api: ApiClient, bus: FlowBus, graph: GraphStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow = _flow(
        api,
        {
            "trigger": {"type": "conversation_opened", "channel": "messenger"},
            "steps": [{"type": "send_message", "text": "Hola {{contact.first_name}}"}],
        },
    )
    crashed = crash_once_before_delivery(monkeypatch)
    _message("hola", customer_id="7000000000007777")
    with pytest.raises(RuntimeError):  # the step function fails: EventBridge delivers it again
        bus.settle()

    def sends() -> list[dict[str, Any]]:
        return [r for r in graph.requests() if r["method"] == "POST" and r["path"].endswith("/messages")]

    assert sends() == []
    bus.replay_all()
    assert len(sends()) == 1
    assert sends()[0]["body"]["metadata"] == crashed[0]  # the message stored by the first attempt
    [run] = _runs(api, flow["id"])
    assert run["state"] == "completed"
    bus.replay_all()
    assert len(sends()) == 1
