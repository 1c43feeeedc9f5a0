"""Broadcasts: every contact with a tag gets the message once, resumably, with per-recipient status."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from inbox_crm.core.timeutil import to_millis, utcnow
from inbox_crm.ingest.pipeline import ingest
from inbox_crm.outbound import broadcasts
from inbox_crm.workspaces import channels
from inbox_local.graph_standin import GraphStandIn
from support.api import ApiClient
from support.crash import crash_once_before_delivery
from support.units import WA_NUMBER, unit
from support.work import WorkQueue
from support.world import World


def _registered_whatsapp_contact(api: ApiClient, phone: str, name: str, hours_ago: float = 1) -> str:
    ingest(
        unit(
            platform="whatsapp",
            account_id=WA_NUMBER,
            customer_id=phone,
            text="hola",
            platform_message_id=f"wamid.{phone}",
            timestamp_ms=to_millis(utcnow() - timedelta(hours=hours_ago)),
        )
    )
    conversation = next(
        c
        for c in api.get("/v1/conversations", query={"channel": "whatsapp"}).json()["items"]
        if phone in c["handle"]
    )
    body = {"contact": {"first_name": name, "last_name": "Prueba", "consent": {"given": True}}}
    created = api.post(f"/v1/conversations/{conversation['id']}/contact", body)
    assert created.status in (200, 201), created.text
    return created.json()["contact"]["id"] if "contact" in created.json() else created.json()["contact_id"]


@pytest.fixture
def tagged(api: ApiClient, world: World, graph: GraphStandIn) -> dict[str, object]:
    channels.register_channel("ws_alpha", "whatsapp", WA_NUMBER, "Alpha WA", "usr_alpha_owner")
    tag = api.post("/v1/tags", {"name": "Clientes VIP"}).json()
    contacts = [
        _registered_whatsapp_contact(api, "5215512340001", "Ana"),
        _registered_whatsapp_contact(api, "5215512340002", "Beto"),
        _registered_whatsapp_contact(api, "5215512340003", "Caro", hours_ago=30),  # window closed
    ]
    untagged = _registered_whatsapp_contact(api, "5215512340004", "Dani")
    for contact_id in contacts:
        assert api.post(f"/v1/contacts/{contact_id}/tags", {"tag_id": tag["id"]}).status in (200, 201)
    no_channel = api.post(
        "/v1/contacts", {"first_name": "Eva", "last_name": "Sin canal", "emails": ["eva@ejemplo.com"]}
    ).json()["id"]
    assert api.post(f"/v1/contacts/{no_channel}/tags", {"tag_id": tag["id"]}).status in (200, 201)
    return {"tag": tag["id"], "contacts": contacts, "untagged": untagged, "no_channel": no_channel}


def _sends(graph: GraphStandIn) -> list[dict[str, object]]:
    return [r for r in graph.requests() if r["method"] == "POST"]


def test_text_broadcast_reaches_the_tag_inside_the_window_only(
    api: ApiClient, tagged: dict[str, object], graph: GraphStandIn
) -> None:
    body = {"name": "Promo", "tag_id": tagged["tag"], "channel": "whatsapp", "text": "¡Oferta de hoy!"}
    assert api.post("/v1/broadcasts", body, as_="alpha_agent").status == 403
    created = api.post("/v1/broadcasts", body, as_="alpha_manager")
    assert created.status == 201, created.text
    broadcast_id = created.json()["id"]
    assert created.json()["status"] == "scheduled"
    assert broadcasts.process_due_broadcasts() == 1
    progress = api.get(f"/v1/broadcasts/{broadcast_id}").json()
    assert progress["status"] == "done"
    assert progress["progress"] == {"sent": 2, "failed": 1, "skipped": 1}
    recipients = {
        r["contact_id"]: r for r in api.get(f"/v1/broadcasts/{broadcast_id}/recipients").json()["items"]
    }
    assert recipients[tagged["no_channel"]]["reason"] == "no_whatsapp_conversation"
    assert recipients[tagged["contacts"][2]]["reason"] == "window_closed_template_required"
    assert tagged["untagged"] not in recipients
    assert sorted(r["body"]["to"] for r in _sends(graph)) == ["+5215512340001", "+5215512340002"]
    # nothing is due any more; running again sends nothing
    assert broadcasts.process_due_broadcasts() == 0


def test_template_broadcast_reaches_everyone_with_the_channel(
    api: ApiClient, tagged: dict[str, object], graph: GraphStandIn
) -> None:
    body = {
        "name": "Aviso",
        "tag_id": tagged["tag"],
        "channel": "whatsapp",
        "template": {"name": "aviso_envio", "language": "es_MX"},
    }
    broadcast_id = api.post("/v1/broadcasts", body).json()["id"]
    broadcasts.process_due_broadcasts()
    assert api.get(f"/v1/broadcasts/{broadcast_id}").json()["progress"] == {
        "sent": 3,
        "failed": 0,
        "skipped": 1,
    }
    assert len(_sends(graph)) == 3


def test_an_interrupted_broadcast_resumes_without_sending_twice(
    api: ApiClient, tagged: dict[str, object], graph: GraphStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(broadcasts, "PAGE_SIZE", 1)
    body = {
        "name": "Aviso",
        "tag_id": tagged["tag"],
        "channel": "whatsapp",
        "template": {"name": "aviso_envio"},
    }
    broadcast_id = api.post("/v1/broadcasts", body).json()["id"]
    [due] = broadcasts.due_broadcasts(utcnow())
    assert broadcasts.process_broadcast(due, budget_seconds=0) is False  # one page, then out of time
    assert api.get(f"/v1/broadcasts/{broadcast_id}").json()["status"] == "running"
    first_sends = len(_sends(graph))
    # a crash after sending but before the cursor moved: the same page is processed again once the
    # page's lease expires
    assert broadcasts.due_broadcasts(utcnow()) == []
    [again] = broadcasts.due_broadcasts(utcnow() + broadcasts.LEASE)
    while not broadcasts.process_broadcast(again):
        [again] = broadcasts.due_broadcasts(utcnow() + broadcasts.LEASE)
    assert len(_sends(graph)) == 3
    assert first_sends <= 1
    assert api.get(f"/v1/broadcasts/{broadcast_id}").json()["progress"]["sent"] == 3


def test_scheduled_broadcast_waits_and_can_be_cancelled(api: ApiClient, tagged: dict[str, object]) -> None:
    later = (utcnow() + timedelta(hours=2)).isoformat()
    body = {
        "name": "Mañana",
        "tag_id": tagged["tag"],
        "channel": "whatsapp",
        "text": "hola",
        "send_at": later,
    }
    broadcast_id = api.post("/v1/broadcasts", body).json()["id"]
    assert broadcasts.process_due_broadcasts() == 0
    cancelled = api.post(f"/v1/broadcasts/{broadcast_id}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    assert api.post(f"/v1/broadcasts/{broadcast_id}/cancel").status == 409
    assert broadcasts.process_due_broadcasts(utcnow() + timedelta(hours=3)) == 0


def test_unknown_tag_and_other_workspace(api: ApiClient, tagged: dict[str, object]) -> None:
    body = {"name": "x", "tag_id": "tag_nope", "channel": "whatsapp", "text": "hola"}
    assert api.post("/v1/broadcasts", body).status == 404
    body["tag_id"] = str(tagged["tag"])
    broadcast_id = api.post("/v1/broadcasts", body).json()["id"]
    assert api.get(f"/v1/broadcasts/{broadcast_id}", as_="beta_owner").status == 404
    assert api.post("/v1/broadcasts", {"name": "x", "tag_id": "t", "channel": "whatsapp"}).status == 422


# ------------------------------------------------------------------ issue 10: pages as work items

_TEMPLATE = {"name": "Aviso", "channel": "whatsapp", "template": {"name": "aviso_envio"}}


def _progress(api: ApiClient, broadcast_id: str) -> tuple[str, dict[str, int]]:
    found = api.get(f"/v1/broadcasts/{broadcast_id}").json()
    return found["status"], found["progress"]


def test_a_broadcast_goes_page_by_page_as_work_items(
    api: ApiClient,
    tagged: dict[str, object],
    graph: GraphStandIn,
    work_queue: WorkQueue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(broadcasts, "PAGE_SIZE", 1)
    broadcast_id = api.post("/v1/broadcasts", {**_TEMPLATE, "tag_id": tagged["tag"]}).json()["id"]
    assert work_queue.run_scheduler()["enqueued"] == 1
    assert work_queue.run_scheduler()["enqueued"] == 0  # leased: one page at a time
    assert work_queue.drain() >= 4  # a page per recipient, each its own invocation
    assert _progress(api, broadcast_id) == ("done", {"sent": 3, "failed": 0, "skipped": 1})
    assert len(_sends(graph)) == 3
    assert work_queue.run_scheduler()["due"] == 0


def test_a_page_stops_before_the_function_runs_out_of_time_and_resumes(
    api: ApiClient, tagged: dict[str, object], graph: GraphStandIn
) -> None:
    broadcast_id = api.post("/v1/broadcasts", {**_TEMPLATE, "tag_id": tagged["tag"]}).json()["id"]
    [due] = broadcasts.due_broadcasts(utcnow())
    budget = iter([True])  # time for one recipient only
    assert broadcasts.process_page(due, lambda: next(budget, False)) is False
    status, progress = _progress(api, broadcast_id)
    assert status == "running"
    assert progress["sent"] + progress["skipped"] == 1
    sent_before = len(_sends(graph))
    assert broadcasts.process_page(due, lambda: True) is True
    assert _progress(api, broadcast_id) == ("done", {"sent": 3, "failed": 0, "skipped": 1})
    assert len(_sends(graph)) == 3 >= sent_before


def test_cancelling_a_running_broadcast_stops_what_has_not_left(
    api: ApiClient,
    tagged: dict[str, object],
    graph: GraphStandIn,
    work_queue: WorkQueue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    broadcast_id = api.post("/v1/broadcasts", {**_TEMPLATE, "tag_id": tagged["tag"]}).json()["id"]
    real_send = broadcasts._send_to

    def send_then_cancel(*args: Any) -> str:
        result = real_send(*args)
        if len(_sends(graph)) == 1:
            assert api.post(f"/v1/broadcasts/{broadcast_id}/cancel").status == 200
        return result

    monkeypatch.setattr(broadcasts, "_send_to", send_then_cancel)
    work_queue.run_scheduler()
    work_queue.drain()
    assert len(_sends(graph)) == 1
    assert _progress(api, broadcast_id)[0] == "cancelled"
    assert work_queue.run_scheduler()["due"] == 0


def test_a_recipient_is_sent_only_once_meta_accepted_its_message(
    api: ApiClient, tagged: dict[str, object], graph: GraphStandIn, work_queue: WorkQueue
) -> None:
    broadcast_id = api.post("/v1/broadcasts", {**_TEMPLATE, "tag_id": tagged["tag"]}).json()["id"]
    graph.fail(status=503, error={"code": 2, "message": "Service temporarily unavailable"}, times=1)
    work_queue.run_scheduler()
    work_queue.drain()
    recipients = api.get(f"/v1/broadcasts/{broadcast_id}/recipients").json()["items"]
    statuses = sorted(r["status"] for r in recipients)
    assert statuses == ["sent", "sent", "skipped", "unknown"]
    assert _progress(api, broadcast_id) == ("done", {"sent": 2, "failed": 0, "skipped": 1})
    assert len(_sends(graph)) == 3  # the unknown one is not sent again by itself


def test_broadcasts_are_listed_newest_first(api: ApiClient, tagged: dict[str, object]) -> None:
    # Created within a few milliseconds: id order must still be creation order (issue 10).
    later = (utcnow() + timedelta(hours=2)).isoformat()
    body = {"tag_id": tagged["tag"], "channel": "whatsapp", "text": "hola", "send_at": later}
    created = [api.post("/v1/broadcasts", {**body, "name": f"B{n}"}).json()["id"] for n in range(8)]
    listed = api.get("/v1/broadcasts").json()["items"]
    assert [item["id"] for item in listed] == created[::-1]


def test_a_recipient_stored_but_not_delivered_is_delivered_once_when_the_page_is_retaken(
    api: ApiClient, tagged: dict[str, object], graph: GraphStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    template = {"name": "aviso_envio"}
    body = {"name": "Aviso", "tag_id": tagged["tag"], "channel": "whatsapp", "template": template}
    broadcast_id = api.post("/v1/broadcasts", body).json()["id"]
    crashed = crash_once_before_delivery(monkeypatch)
    [due] = broadcasts.due_broadcasts(utcnow())
    with pytest.raises(RuntimeError):
        broadcasts.process_broadcast(due)
    assert _sends(graph) == []  # the first recipient's message is stored, queued, not sent
    [again] = broadcasts.due_broadcasts(utcnow() + broadcasts.LEASE)
    assert broadcasts.process_broadcast(again) is True
    assert len(_sends(graph)) == 3  # the stored one went once, under its idempotency key
    recipients = api.get(f"/v1/broadcasts/{broadcast_id}/recipients").json()["items"]
    sent = {r["contact_id"]: r.get("message_id") for r in recipients if r["status"] == "sent"}
    contacts = tagged["contacts"]
    assert isinstance(contacts, list)
    assert set(sent) == set(contacts)
    assert crashed[0] in sent.values()
