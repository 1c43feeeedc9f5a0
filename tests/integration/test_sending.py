"""Issue 6: replies through the Graph API (the local stand-in), inside Meta's policy, exactly once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any, ClassVar

import pytest
import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from inbox_crm.core.errors import Conflict
from inbox_crm.core.timeutil import to_millis, utcnow
from inbox_crm.ingest.pipeline import ingest
from inbox_crm.meta.graph import GraphClient
from inbox_crm.meta.policy import Sender
from inbox_crm.meta.send import OutboundContent
from inbox_crm.meta.units import UnitComment, UnitKind, UnitStatus
from inbox_crm.outbound import delivery, schedule, transitions
from inbox_crm.outbound.compose import Author, SendSpec, compose
from inbox_crm.ports import SecretsTokens, use_ports
from inbox_crm.store.models import Conversation, InboxItem, Message
from inbox_crm.workspaces import channels
from inbox_local.graph_standin import GraphStandIn
from support.api import ApiClient
from support.crash import crash_once_before_delivery
from support.units import PAGE, WA_NUMBER, unit
from support.work import WorkQueue
from support.world import World

IG_ACCOUNT = "17841400000000777"


@pytest.fixture
def inbox(world: World, graph: GraphStandIn) -> World:
    channels.register_channel("ws_alpha", "messenger", PAGE, "Alpha FB", "usr_alpha_owner")
    channels.register_channel("ws_alpha", "instagram", IG_ACCOUNT, "Alpha IG", "usr_alpha_owner")
    channels.register_channel("ws_alpha", "whatsapp", WA_NUMBER, "Alpha WA", "usr_alpha_owner")
    return world


def _conversation(hours_ago: float = 0.1, **fields: Any) -> str:
    at = to_millis(utcnow() - timedelta(hours=hours_ago))
    ingest(unit(text="hola", timestamp_ms=at, **fields))
    conversations = [item for item in InboxItem.scan() if isinstance(item, Conversation)]
    platform = fields.get("platform", "messenger")
    return next(c.conversation_id for c in conversations if c.platform == platform and c.kind == "direct")


def _sends(graph: GraphStandIn) -> list[dict[str, Any]]:
    return [request for request in graph.requests() if request["method"] == "POST"]


def test_messenger_reply_inside_the_window(api: ApiClient, inbox: World, graph: GraphStandIn) -> None:
    conversation_id = _conversation()
    reply = api.post(
        f"/v1/conversations/{conversation_id}/messages", {"text": "¡Hola! Sí, enviamos 🚚"}, as_="alpha_agent"
    )
    assert reply.status == 201, reply.text
    message = reply.json()
    assert message["status"] == "sent"
    assert message["platform_message_id"].startswith("m_")
    [sent] = _sends(graph)
    assert sent["path"].endswith(f"/{PAGE}/messages")
    assert sent["body"]["recipient"] == {"id": "7000000000000001"}
    assert sent["body"]["messaging_type"] == "RESPONSE"
    assert sent["body"]["message"]["text"] == "¡Hola! Sí, enviamos 🚚"
    assert sent["body"]["metadata"] == message["id"]
    assert sent["authorized"] is True

    # The echo of our own send reconciles with it: no second message.
    echo = unit(
        UnitKind.ECHO,
        text="¡Hola! Sí, enviamos 🚚",
        platform_message_id=message["platform_message_id"],
        echo_app_id="999999999999999",
        echo_metadata=message["id"],
        timestamp_ms=to_millis(utcnow()),
    )
    assert ingest(echo).outcome == "duplicate"
    stored = api.get(f"/v1/conversations/{conversation_id}/messages").json()["items"]
    assert [m["direction"] for m in stored] == ["inbound", "outbound"]


def test_instagram_echo_that_beats_the_send_bookkeeping_is_reconciled_by_text(inbox: World) -> None:
    conversation_id = _conversation(
        platform="instagram", account_id=IG_ACCOUNT, customer_id="8000000000000001"
    )
    spec = SendSpec(content=OutboundContent(text="te escribo"))
    composed = compose("ws_alpha", conversation_id, spec, Author(Sender.HUMAN, "u"))
    echo = unit(
        UnitKind.ECHO,
        platform="instagram",
        account_id=IG_ACCOUNT,
        customer_id="8000000000000001",
        text="te escribo",
        platform_message_id="aWdfZAG1_echo",
        timestamp_ms=to_millis(utcnow()),
    )
    assert ingest(echo).outcome == "duplicate"
    messages = [m for m in InboxItem.scan() if isinstance(m, Message)]
    assert len(messages) == 2
    assert composed.message.message_id in {m.message_id for m in messages}


def test_human_reply_after_24h_uses_human_agent_and_automation_is_refused(
    api: ApiClient, inbox: World, graph: GraphStandIn
) -> None:
    conversation_id = _conversation(hours_ago=30)
    reply = api.post(f"/v1/conversations/{conversation_id}/messages", {"text": "Perdón la demora"})
    assert reply.status == 201, reply.text
    assert _sends(graph)[0]["body"]["messaging_type"] == "MESSAGE_TAG"
    assert _sends(graph)[0]["body"]["tag"] == "HUMAN_AGENT"
    spec = SendSpec(content=OutboundContent(text="bot"))
    with pytest.raises(Conflict) as refused:
        compose("ws_alpha", conversation_id, spec, Author(Sender.AUTOMATION, "flow_1"))
    assert refused.value.details["reason_code"] == "window_closed_template_required"


def test_reply_window_in_the_inbox(api: ApiClient, inbox: World) -> None:
    _conversation(hours_ago=30)
    [item] = api.get("/v1/conversations").json()["items"]
    assert item["reply_window"]["open"] is True  # an agent may still answer with HUMAN_AGENT
    assert item["reply_window"]["human_agent_until"]


def test_whatsapp_outside_the_window_needs_a_template(
    api: ApiClient, inbox: World, graph: GraphStandIn
) -> None:
    wa = {"platform": "whatsapp", "account_id": WA_NUMBER, "customer_id": "5215512340001"}
    conversation_id = _conversation(hours_ago=26, **wa)
    refused = api.post(f"/v1/conversations/{conversation_id}/messages", {"text": "hola"})
    assert refused.status == 409
    assert refused.json()["error"]["details"]["reason_code"] == "window_closed_template_required"
    assert _sends(graph) == []
    template = {"template": {"name": "seguimiento_pedido", "language": "es_MX", "components": []}}
    sent = api.post(f"/v1/conversations/{conversation_id}/messages", template)
    assert sent.status == 201, sent.text
    assert sent.json()["platform_message_id"].startswith("wamid.")
    [request] = _sends(graph)
    assert request["body"]["to"] == "+5215512340001"
    assert request["body"]["type"] == "template"
    assert request["body"]["template"]["name"] == "seguimiento_pedido"
    assert request["body"]["biz_opaque_callback_data"] == sent.json()["id"]


def test_buttons_quick_replies_and_attachments(api: ApiClient, inbox: World, graph: GraphStandIn) -> None:
    conversation_id = _conversation()
    body = {
        "text": "¿Qué prefieres?",
        "buttons": [
            {"type": "web_url", "title": "Catálogo", "url": "https://tienda.example/catalogo"},
            {"type": "postback", "title": "Hablar", "payload": "AGENT"},
        ],
        "attachments": [{"type": "image", "url": "https://tienda.example/a.jpg"}],
    }
    reply = api.post(f"/v1/conversations/{conversation_id}/messages", body)
    assert reply.status == 201, reply.text
    [template, image] = _sends(graph)
    assert template["body"]["message"]["attachment"]["payload"]["template_type"] == "button"
    assert len(template["body"]["message"]["attachment"]["payload"]["buttons"]) == 2
    assert image["body"]["message"]["attachment"] == {
        "type": "image",
        "payload": {"url": "https://tienda.example/a.jpg"},
    }
    assert reply.json()["text"] == "¿Qué prefieres?"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"text": ""},
        {"text": "x", "buttons": [{"type": "web_url", "title": "a"}]},
        {"text": "x", "buttons": [{"type": "postback", "title": "a", "payload": "p"}] * 4},
        {"attachments": [{"type": "image", "url": "https://x.example/a.png"}] * 4},
        {"text": "x", "send_at": "2030-01-01T10:00:00"},
        {"text": "x" * 5000},
        {"text": "x", "unknown": 1},
    ],
)
def test_invalid_sends_are_422(
    api: ApiClient, inbox: World, graph: GraphStandIn, body: dict[str, Any]
) -> None:
    conversation_id = _conversation()
    reply = api.post(f"/v1/conversations/{conversation_id}/messages", body)
    assert reply.status == 422, reply.text
    assert _sends(graph) == []


def test_instagram_text_limit_is_400(api: ApiClient, inbox: World, graph: GraphStandIn) -> None:
    conversation_id = _conversation(
        platform="instagram", account_id=IG_ACCOUNT, customer_id="8000000000000001"
    )
    reply = api.post(f"/v1/conversations/{conversation_id}/messages", {"text": "x" * 1001})
    assert reply.status == 400
    assert reply.json()["error"]["details"]["limit"] == 1000


@pytest.mark.parametrize(
    ("channel", "code", "subcode", "reason_code"),
    [
        ("messenger", 10, 2018278, "window_closed"),
        ("instagram", 10, 2534022, "window_closed"),
        ("whatsapp", 131047, None, "window_closed"),
        ("messenger", 190, None, "channel_token_expired"),
        ("messenger", 551, None, "recipient_unavailable"),
        ("messenger", 100, None, "invalid_request"),
    ],
)
def test_meta_policy_errors_fail_with_a_reason_and_are_not_retried(
    api: ApiClient,
    inbox: World,
    graph: GraphStandIn,
    channel: str,
    code: int,
    subcode: int | None,
    reason_code: str,
) -> None:
    fields = {
        "messenger": {},
        "instagram": {"platform": "instagram", "account_id": IG_ACCOUNT, "customer_id": "8000000000000001"},
        "whatsapp": {"platform": "whatsapp", "account_id": WA_NUMBER, "customer_id": "5215512340001"},
    }[channel]
    conversation_id = _conversation(**fields)
    error = {"message": "(#10) This message is sent outside of allowed window", "code": code}
    if subcode:
        error["error_subcode"] = subcode
    graph.fail(status=400, error=error, times=5)
    reply = api.post(f"/v1/conversations/{conversation_id}/messages", {"text": "hola"})
    assert reply.status == 201
    message = reply.json()
    assert message["status"] == "failed"
    assert message["error_code"].startswith(reason_code)
    assert message["error_reason"]
    assert len(_sends(graph)) == 1  # never retried


@pytest.mark.parametrize("code", [131056, 613, 130429])
def test_rate_limits_are_refusals_and_are_retried(
    api: ApiClient, inbox: World, graph: GraphStandIn, code: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inbox_crm.meta import graph as graph_module

    monkeypatch.setattr(graph_module.time, "sleep", lambda _: None)
    conversation_id = _conversation()
    graph.fail(status=400, error={"code": code, "message": "try later"}, times=1)
    reply = api.post(f"/v1/conversations/{conversation_id}/messages", {"text": "hola"})
    assert reply.json()["status"] == "sent"
    assert len(_sends(graph)) == 2


def test_the_same_idempotency_key_sends_once(api: ApiClient, inbox: World, graph: GraphStandIn) -> None:
    conversation_id = _conversation()
    path = f"/v1/conversations/{conversation_id}/messages"
    first = api.post(path, {"text": "una vez"}, headers={"Idempotency-Key": "k-1"})
    again = api.post(path, {"text": "una vez"}, headers={"Idempotency-Key": "k-1"})
    assert (first.status, again.status) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert len(_sends(graph)) == 1
    assert api.post(path, {"text": "otra"}, headers={"Idempotency-Key": "k-2"}).status == 201
    assert len(_sends(graph)) == 2


def test_whatsapp_status_before_the_send_recorded_its_id_is_applied(
    inbox: World, graph: GraphStandIn
) -> None:
    wa = {"platform": "whatsapp", "account_id": WA_NUMBER, "customer_id": "5215512340001"}
    conversation_id = _conversation(**wa)
    spec = SendSpec(content=OutboundContent(text="hola"))
    message = compose("ws_alpha", conversation_id, spec, Author(Sender.HUMAN, "u")).message
    real_request = GraphClient.request

    def send_then_status_webhook(self: Any, method: str, path: str, token: Any, **kwargs: Any) -> Any:
        response = real_request(self, method, path, token, **kwargs)
        wamid = response["messages"][0]["id"]
        delivered = unit(
            UnitKind.STATUS,
            platform_message_id=wamid,
            status=UnitStatus(status="delivered"),
            dedupe_key=f"st:{wamid}",
            timestamp_ms=to_millis(utcnow()),
            **wa,
        )
        assert ingest(delivered).outcome == "recorded"
        return response

    GraphClient.request = send_then_status_webhook  # type: ignore[method-assign]
    try:
        sent = delivery.deliver(message)
    finally:
        GraphClient.request = real_request  # type: ignore[method-assign]
    assert sent.status == "delivered"


def _comment_conversation(days_ago: float = 0.1) -> tuple[str, str]:
    at = to_millis(utcnow() - timedelta(days=days_ago))
    comment = UnitComment(
        comment_id="post9_c1", post_id=f"{PAGE}_post9", parent_id=f"{PAGE}_post9", verb="add"
    )
    ingest(
        unit(
            UnitKind.COMMENT, text="precio?", platform_message_id="post9_c1", comment=comment, timestamp_ms=at
        )
    )
    conversation = next(c for c in InboxItem.scan() if isinstance(c, Conversation) and c.kind == "comment")
    return conversation.conversation_id, "post9_c1"


def test_private_reply_once_per_comment(api: ApiClient, inbox: World, graph: GraphStandIn) -> None:
    conversation_id, comment_id = _comment_conversation()
    path = f"/v1/conversations/{conversation_id}/messages"
    first = api.post(path, {"text": "Te escribo por privado", "reply": "private"})
    assert first.status == 201, first.text
    assert _sends(graph)[0]["body"]["recipient"] == {"comment_id": comment_id}
    second = api.post(path, {"text": "otra vez", "reply": "private"})
    assert second.status == 409
    assert second.json()["error"]["details"]["reason_code"] == "private_reply_already_sent"
    assert len(_sends(graph)) == 1


def test_private_reply_after_seven_days_is_refused_and_public_reply_works(
    api: ApiClient, inbox: World, graph: GraphStandIn
) -> None:
    conversation_id, comment_id = _comment_conversation(days_ago=8)
    path = f"/v1/conversations/{conversation_id}/messages"
    late = api.post(path, {"text": "hola", "reply": "private"})
    assert late.status == 409
    assert late.json()["error"]["details"]["reason_code"] == "private_reply_expired"
    public = api.post(path, {"text": "¡Gracias! Te escribimos", "reply": "public"})
    assert public.status == 201, public.text
    [request] = _sends(graph)
    assert request["path"].endswith(f"/{comment_id}/comments")
    assert request["body"] == {"message": "¡Gracias! Te escribimos"}
    assert api.post(path, {"text": "hola"}).status == 400  # a comment is answered publicly or privately


def test_scheduled_send_waits_then_goes_once_even_with_overlapping_schedulers(
    api: ApiClient, inbox: World, graph: GraphStandIn
) -> None:
    conversation_id = _conversation()
    send_at = (utcnow() + timedelta(minutes=30)).isoformat()
    reply = api.post(
        f"/v1/conversations/{conversation_id}/messages", {"text": "recordatorio", "send_at": send_at}
    )
    assert reply.status == 201, reply.text
    assert reply.json()["status"] == "scheduled"
    assert schedule.send_due(utcnow())["due"] == 0
    later = utcnow() + timedelta(minutes=31)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: schedule.send_due(later), range(4)))
    assert sum(result["sent"] for result in results) == 1
    assert len(_sends(graph)) == 1
    assert schedule.send_due(later)["due"] == 0


def test_a_send_another_worker_already_made_is_counted_by_that_worker_only(
    api: ApiClient, inbox: World, graph: GraphStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation_id = _conversation()
    send_at = (utcnow() + timedelta(minutes=30)).isoformat()
    reply = api.post(
        f"/v1/conversations/{conversation_id}/messages", {"text": "recordatorio", "send_at": send_at}
    )
    assert reply.status == 201, reply.text
    later = utcnow() + timedelta(minutes=31)
    read_before_the_other_worker_sent = schedule.due_messages(later)
    assert schedule.send_due(later)["sent"] == 1
    monkeypatch.setattr(schedule, "due_messages", lambda now: read_before_the_other_worker_sent)
    counts = schedule.send_due(later)
    assert (counts["sent"], counts["skipped"]) == (0, 1)
    assert len(_sends(graph)) == 1


def test_scheduled_send_past_the_window_applies_the_policy_at_send_time(
    inbox: World, graph: GraphStandIn
) -> None:
    wa = {"platform": "whatsapp", "account_id": WA_NUMBER, "customer_id": "5215512340001"}
    conversation_id = _conversation(hours_ago=20, **wa)
    author = Author(Sender.HUMAN, "u")
    at = utcnow() + timedelta(hours=6)
    plain = SendSpec(content=OutboundContent(text="¿sigues ahí?"), send_at=at)
    templated = SendSpec(
        content=OutboundContent(template={"name": "recordatorio", "language": "es"}), send_at=at
    )
    compose("ws_alpha", conversation_id, plain, author)
    compose("ws_alpha", conversation_id, templated, author)
    counts = schedule.send_due(at + timedelta(minutes=1))
    assert counts == {"due": 2, "sent": 1, "failed": 1, "rescheduled": 0, "unknown": 0, "skipped": 0}
    failed = next(m for m in InboxItem.scan() if isinstance(m, Message) and m.status == "failed")
    assert failed.error_code == "window_closed_template_required"


def test_a_scheduled_send_refused_by_a_rate_limit_is_retried_later(inbox: World, graph: GraphStandIn) -> None:
    from inbox_crm.meta.graph import GraphClient

    conversation_id = _conversation()
    at = utcnow() + timedelta(minutes=5)
    spec = SendSpec(content=OutboundContent(text="luego"), send_at=at)
    compose("ws_alpha", conversation_id, spec, Author(Sender.HUMAN, "u"))
    graph.fail(status=400, error={"code": 4, "message": "Application request limit reached"}, times=10)
    client = GraphClient.from_settings()
    client.max_attempts = 1
    first = schedule.send_due(at, client=client)
    assert first["rescheduled"] == 1
    graph.clear_failures()
    assert schedule.send_due(at)["due"] == 0  # backed off
    assert schedule.send_due(at + timedelta(hours=1))["sent"] == 1


def test_sending_to_another_workspaces_conversation_is_404(
    api: ApiClient, inbox: World, graph: GraphStandIn
) -> None:
    conversation_id = _conversation()
    assert (
        api.post(f"/v1/conversations/{conversation_id}/messages", {"text": "x"}, as_="beta_owner").status
        == 404
    )
    assert _sends(graph) == []


def test_watchdog_flags_a_silent_channel_once_and_a_webhook_clears_it(
    api: ApiClient, inbox: World, pipeline: Any
) -> None:
    from scheduler_handler import watch_channels

    from inbox_crm.store.models import ChannelAccount
    from inbox_crm.workspaces.channels import forget_touches, record_webhook_seen

    _conversation()  # a webhook for the Page: the channel is watched from now on
    facebook = next(c for c in api.get("/v1/channels").json()["items"] if c["platform"] == "messenger")
    assert facebook["last_webhook_at"]
    assert facebook["silent"] is False
    assert watch_channels() == 0

    two_hours_ago = utcnow() - timedelta(hours=2)
    forget_touches()
    record_webhook_seen("ws_alpha", facebook["id"], now=two_hours_ago)
    assert (
        next(c for c in api.get("/v1/channels").json()["items"] if c["id"] == facebook["id"])["silent"]
        is True
    )
    assert watch_channels() == 1
    assert watch_channels() == 0  # reported once per silence
    [event] = pipeline.events("ChannelWentSilent")
    assert event.detail["channel_id"] == facebook["id"]

    forget_touches()
    _conversation(customer_id="7000000000000009")
    channel = ChannelAccount.get(*ChannelAccount.key("ws_alpha", facebook["id"]))
    assert channel.gsi2pk is not None  # watched again


def test_agents_close_reopen_assign_and_mark_read(api: ApiClient, inbox: World) -> None:
    conversation_id = _conversation()
    base = f"/v1/conversations/{conversation_id}"
    assert api.get(base).json()["unread_count"] == 1
    assert api.post(f"{base}/read", as_="alpha_agent").json()["unread_count"] == 0
    assigned = api.post(f"{base}/assign", {"assignee_id": "usr_alpha_agent"}, as_="alpha_agent")
    assert assigned.json()["assignee_id"] == "usr_alpha_agent"
    mine = api.get("/v1/conversations", query={"assignee": "me"}, as_="alpha_agent").json()["items"]
    assert [c["id"] for c in mine] == [conversation_id]
    assert api.post(f"{base}/assign", {"assignee_id": "usr_beta_agent"}).status == 400  # not a member here
    closed = api.post(f"{base}/close")
    assert closed.json()["status"] == "closed"
    assert api.get("/v1/conversations").json()["items"] == []
    assert [c["id"] for c in api.get("/v1/conversations", query={"status": "closed"}).json()["items"]] == [
        conversation_id
    ]
    assert api.post(f"{base}/reopen").json()["status"] == "open"
    assert api.post(f"{base}/close", as_="beta_owner").status == 404
    assert api.post(f"{base}/assign", {"assignee_id": None}).json()["assignee_id"] is None


# ------------------------------------------------------------------ issue 10: every send ends known


class _Session(requests.Session):
    """A requests session whose POSTs fail as the network can: before the request left (the connection
    was refused) or after Meta answered (the answer was lost on its way back)."""

    faults: ClassVar[list[str]] = []

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        fault = _Session.faults.pop(0) if method == "POST" and _Session.faults else None
        if fault == "refused":
            reason = NewConnectionError(None, "Connection refused")  # type: ignore[arg-type]
            raise requests.ConnectionError(MaxRetryError(None, url, reason))  # type: ignore[arg-type]
        if fault == "connect_timeout":
            raise requests.ConnectTimeout("connect timed out")
        response = super().request(method, url, *args, **kwargs)
        if fault == "lost":
            raise requests.ReadTimeout("read timed out")
        if fault == "dropped":
            raise requests.ConnectionError("Connection aborted: RemoteDisconnected")
        return response


@pytest.fixture
def network(monkeypatch: pytest.MonkeyPatch) -> type[_Session]:
    from inbox_crm.meta import graph as graph_module

    _Session.faults = []
    monkeypatch.setattr(graph_module.requests, "Session", _Session)
    monkeypatch.setattr(graph_module.time, "sleep", lambda _: None)
    return _Session


def _message(message_id: str) -> Message:
    return next(m for m in InboxItem.scan() if isinstance(m, Message) and m.message_id == message_id)


@pytest.mark.parametrize("fault", ["refused", "connect_timeout"])
def test_a_post_that_never_left_is_retried(
    api: ApiClient, inbox: World, graph: GraphStandIn, network: type[_Session], fault: str
) -> None:
    conversation_id = _conversation()
    network.faults = [fault]
    reply = api.post(f"/v1/conversations/{conversation_id}/messages", {"text": "hola"})
    assert reply.json()["status"] == "sent"
    assert len(_sends(graph)) == 1  # the refused attempt never reached Meta


@pytest.mark.parametrize("fault", ["lost", "dropped", "503"])
def test_a_post_that_may_have_reached_meta_is_never_retried_and_is_unknown(
    api: ApiClient, inbox: World, graph: GraphStandIn, network: type[_Session], fault: str
) -> None:
    conversation_id = _conversation()
    if fault == "503":
        graph.fail(status=503, error={"code": 2, "message": "Service temporarily unavailable"}, times=1)
    else:
        network.faults = [fault]
    reply = api.post(f"/v1/conversations/{conversation_id}/messages", {"text": "hola"})
    assert reply.status == 201
    assert reply.json()["status"] == "unknown"
    assert reply.json()["error_code"] == "outcome_unknown"
    assert len(_sends(graph)) == 1
    # Nothing sends it again by itself: not the scheduler, not a retried request.
    assert schedule.send_due(utcnow() + timedelta(minutes=10))["due"] == 0
    # Once Meta's confirmation window has closed without an echo or status, it ends failed.
    counts = schedule.send_due(utcnow() + timedelta(hours=2))
    assert (counts["due"], counts["failed"]) == (1, 1)
    assert len(_sends(graph)) == 1
    expired = _message(reply.json()["id"])
    assert (expired.status, expired.error_code) == ("failed", "delivery_unconfirmed")
    assert schedule.send_due(utcnow() + timedelta(hours=3))["due"] == 0  # settled: off the due index


def test_a_messenger_echo_settles_an_unknown_send(
    api: ApiClient, inbox: World, graph: GraphStandIn, network: type[_Session]
) -> None:
    conversation_id = _conversation()
    network.faults = ["lost"]
    message = api.post(f"/v1/conversations/{conversation_id}/messages", {"text": "¿llegó?"}).json()
    assert message["status"] == "unknown"
    [sent] = _sends(graph)
    mid = sent["response"]["message_id"]
    echo = unit(
        UnitKind.ECHO,
        text="¿llegó?",
        platform_message_id=mid,
        echo_app_id="999999999999999",
        echo_metadata=message["id"],
        timestamp_ms=to_millis(utcnow()),
    )
    assert ingest(echo).outcome == "duplicate"
    settled = _message(message["id"])
    assert (settled.status, settled.platform_message_id, settled.error_code) == ("sent", mid, None)


def test_an_instagram_echo_settles_an_unknown_send_by_its_text(
    api: ApiClient, inbox: World, graph: GraphStandIn, network: type[_Session]
) -> None:
    conversation_id = _conversation(
        platform="instagram", account_id=IG_ACCOUNT, customer_id="8000000000000001"
    )
    network.faults = ["lost"]
    message = api.post(f"/v1/conversations/{conversation_id}/messages", {"text": "¿te llegó?"}).json()
    assert message["status"] == "unknown"
    [sent] = _sends(graph)
    echo = unit(
        UnitKind.ECHO,
        platform="instagram",
        account_id=IG_ACCOUNT,
        customer_id="8000000000000001",
        text="¿te llegó?",
        platform_message_id=sent["response"]["message_id"],
        timestamp_ms=to_millis(utcnow()),
    )
    assert ingest(echo).outcome == "duplicate"
    assert _message(message["id"]).status == "sent"


@pytest.mark.parametrize("status_first", [False, True])
def test_a_whatsapp_status_settles_an_unknown_send_by_its_callback_data(
    inbox: World, graph: GraphStandIn, network: type[_Session], status_first: bool
) -> None:
    wa = {"platform": "whatsapp", "account_id": WA_NUMBER, "customer_id": "5215512340001"}
    conversation_id = _conversation(**wa)
    spec = SendSpec(content=OutboundContent(text="hola"))
    composed = compose("ws_alpha", conversation_id, spec, Author(Sender.HUMAN, "u"))
    real_mark_unknown = delivery.mark_unknown

    def status_webhook() -> None:
        [sent] = _sends(graph)
        assert sent["body"]["biz_opaque_callback_data"] == composed.message.message_id
        delivered = unit(
            UnitKind.STATUS,
            platform_message_id=sent["response"]["messages"][0]["id"],
            status=UnitStatus(status="delivered", callback_data=composed.message.message_id),
            dedupe_key="st:delivered",
            timestamp_ms=to_millis(utcnow()),
            **wa,
        )
        ingest(delivered)

    def webhook_then_mark_unknown(*args: Any, **kwargs: Any) -> Message:
        status_webhook()  # Meta's status beats our own bookkeeping of the lost answer
        return real_mark_unknown(*args, **kwargs)

    network.faults = ["lost"]
    if status_first:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(delivery, "mark_unknown", webhook_then_mark_unknown)
            result = delivery.deliver(composed.message)
    else:
        assert delivery.deliver(composed.message).status == "unknown"
        status_webhook()
        result = _message(composed.message.message_id)
    result = _message(composed.message.message_id)
    assert result.status == "delivered"
    assert result.platform_message_id == _sends(graph)[0]["response"]["messages"][0]["id"]
    assert len(_sends(graph)) == 1


def test_retrying_an_unknown_send_is_the_agents_decision(
    api: ApiClient, inbox: World, graph: GraphStandIn, network: type[_Session]
) -> None:
    conversation_id = _conversation()
    path = f"/v1/conversations/{conversation_id}/messages"
    network.faults = ["lost"]
    message = api.post(path, {"text": "hola"}).json()
    sent = api.post(path, {"text": "otra"}).json()
    assert (message["status"], sent["status"]) == ("unknown", "sent")
    refused = api.post(f"{path}/{sent['id']}/retry")
    assert refused.status == 404  # a message with a known outcome has nothing to retry
    retried = api.post(f"{path}/{message['id']}/retry")
    assert retried.status == 200, retried.text
    assert retried.json()["status"] == "sent"
    assert len(_sends(graph)) == 3
    again = api.post(f"{path}/{message['id']}/retry")
    assert (again.status, again.json()["error"]["details"]["reason_code"]) == (409, "not_unknown")
    assert api.post(f"{path}/{message['id']}/retry", as_="beta_owner").status == 404
    assert len(_sends(graph)) == 3


def test_the_same_idempotency_key_answers_the_current_state_and_refuses_another_body(
    api: ApiClient, inbox: World, graph: GraphStandIn
) -> None:
    conversation_id = _conversation()
    path = f"/v1/conversations/{conversation_id}/messages"
    # A request that stored the message and stopped before sending it (the function died).
    spec = SendSpec(content=OutboundContent(text="una vez"), idempotency_key="k-9")
    stored = compose("ws_alpha", conversation_id, spec, Author(Sender.HUMAN, "u"))
    assert stored.message.status == "queued"
    again = api.post(path, {"text": "una vez"}, headers={"Idempotency-Key": "k-9"})
    assert (again.status, again.json()["id"], again.json()["status"]) == (
        200,
        stored.message.message_id,
        "sent",
    )
    assert len(_sends(graph)) == 1
    other = api.post(path, {"text": "otra cosa"}, headers={"Idempotency-Key": "k-9"})
    assert other.status == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert len(_sends(graph)) == 1


def test_a_queued_message_whose_request_died_is_sent_by_the_scheduler(
    inbox: World, graph: GraphStandIn
) -> None:
    conversation_id = _conversation()
    spec = SendSpec(content=OutboundContent(text="sin perder"))
    composed = compose("ws_alpha", conversation_id, spec, Author(Sender.HUMAN, "u"))
    assert schedule.send_due(utcnow())["due"] == 0  # its own request still has time to send it
    assert schedule.send_due(utcnow() + transitions.QUEUED_GRACE)["sent"] == 1
    assert _message(composed.message.message_id).status == "sent"
    assert len(_sends(graph)) == 1


def test_an_error_before_the_post_puts_the_message_back_for_the_scheduler(
    api: ApiClient, inbox: World, graph: GraphStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation_id = _conversation()

    class ThrottledTokens(SecretsTokens):
        def page_token(self, account_id: str) -> str | None:
            raise RuntimeError("Secrets Manager throttled")

    with use_ports(tokens=ThrottledTokens()):
        reply = api.post(f"/v1/conversations/{conversation_id}/messages", {"text": "luego"})
        # the API's catch-all answers our 500 body (issue 10), the message stays for the scheduler
        assert (reply.status, reply.json()["error"]["code"]) == (500, "internal_error")
    [message] = [m for m in InboxItem.scan() if isinstance(m, Message) and m.direction == "outbound"]
    assert message.status == "queued"
    assert schedule.send_due(utcnow())["sent"] == 1
    assert len(_sends(graph)) == 1


@pytest.mark.parametrize("posted", [False, True])
def test_an_expired_claim_is_resent_before_the_post_and_unknown_after(
    inbox: World, graph: GraphStandIn, posted: bool
) -> None:
    conversation_id = _conversation()
    spec = SendSpec(content=OutboundContent(text="hola"))
    message = compose("ws_alpha", conversation_id, spec, Author(Sender.HUMAN, "u")).message
    now = utcnow()
    # The holder claims it and dies (a killed function leaves no trace but its lease).
    assert delivery.claim(message, now)
    if posted:
        message.update(actions=[Message.post_started_at.set(now)])
    assert schedule.send_due(now + timedelta(seconds=5))["due"] == 0  # the lease still holds
    later = now + transitions.LEASE + timedelta(seconds=1)
    counts = schedule.send_due(later)
    swept = _message(message.message_id)
    if posted:
        assert (counts["unknown"], swept.status, len(_sends(graph))) == (1, "unknown", 0)
        # Waiting for Meta's confirmation; when the window closes without one it ends failed.
        assert schedule.send_due(later + timedelta(minutes=5))["due"] == 0
        assert schedule.send_due(later + timedelta(hours=1))["failed"] == 1
        swept = _message(message.message_id)
        assert (swept.status, swept.error_code, len(_sends(graph))) == ("failed", "delivery_unconfirmed", 0)
    else:
        assert (counts["sent"], swept.status, len(_sends(graph))) == (1, "sent", 1)
    assert swept.gsi2pk is None  # settled: off the due index
    assert schedule.send_due(later + timedelta(hours=2))["due"] == 0


def test_a_late_holder_does_not_send_a_message_reclaimed_by_another(
    inbox: World, graph: GraphStandIn
) -> None:
    conversation_id = _conversation()
    spec = SendSpec(content=OutboundContent(text="hola"))
    message = compose("ws_alpha", conversation_id, spec, Author(Sender.HUMAN, "u")).message
    now = utcnow()
    slow = Message.get(message.pk, message.sk)
    assert delivery.claim(slow, now)
    # Its lease expires before it posts; the sweeper reclaims and sends.
    assert schedule.send_due(now + transitions.LEASE + timedelta(seconds=1))["sent"] == 1
    prepared = delivery.prepare(slow, now, None, None)
    assert not isinstance(prepared, Message)
    assert not transitions.transition(
        slow, [Message.post_started_at.set(now)], transitions.mine(slow) & (Message.status == "sending")
    )
    assert len(_sends(graph)) == 1


# ------------------------------------------------------------------ issue 10: due work as independent items


def _schedule(conversation_id: str, text: str, at: Any) -> Message:
    spec = SendSpec(content=OutboundContent(text=text), send_at=at)
    return compose("ws_alpha", conversation_id, spec, Author(Sender.HUMAN, "u")).message


def _due_now(message: Message) -> None:
    """Its time has come (as if the clock moved on)."""
    past = utcnow() - timedelta(seconds=1)
    message.update(actions=[Message.gsi2sk.set(transitions.due_sort_key(message, past))])


def test_the_scheduler_enqueues_due_sends_and_senders_send_them_once(
    inbox: World, graph: GraphStandIn, work_queue: WorkQueue
) -> None:
    conversation_id = _conversation()
    messages = [_schedule(conversation_id, f"aviso {n}", utcnow() + timedelta(minutes=5)) for n in range(25)]
    later = _schedule(conversation_id, "mañana", utcnow() + timedelta(days=1))
    for message in messages:
        _due_now(message)
    first = work_queue.run_scheduler()
    assert (first["due"], first["enqueued"]) == (25, 25)
    assert _sends(graph) == []  # the scheduler itself sends nothing
    assert work_queue.run_scheduler()["enqueued"] == 25  # an overlapping run enqueues them again…
    work_queue.drain()
    assert len(_sends(graph)) == 25  # …and each is still sent once
    assert {_message(m.message_id).status for m in messages} == {"sent"}
    assert _message(later.message_id).status == "scheduled"
    assert work_queue.run_scheduler()["due"] == 0


def test_one_failing_item_never_stops_the_others(
    inbox: World, graph: GraphStandIn, work_queue: WorkQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation_id = _conversation()
    messages = [_schedule(conversation_id, f"aviso {n}", utcnow() + timedelta(minutes=5)) for n in range(5)]
    for message in messages:
        _due_now(message)
    broken = messages[2].message_id
    real = delivery.deliver

    def deliver(message: Message, *args: Any, **kwargs: Any) -> Message:
        if message.message_id == broken:
            raise RuntimeError("DynamoDB throttled this one")
        return real(message, *args, **kwargs)

    monkeypatch.setattr(schedule, "deliver", deliver)
    work_queue.run_scheduler()
    failed = work_queue.deliver_batch()
    assert failed is not None
    assert len(failed) == 1  # only that record is redelivered
    assert len(_sends(graph)) == 4
    monkeypatch.setattr(schedule, "deliver", real)
    work_queue.drain()
    assert {_message(m.message_id).status for m in messages} == {"sent"}
    assert len(_sends(graph)) == 5


def test_a_scheduler_failure_in_one_part_leaves_the_other(
    inbox: World, graph: GraphStandIn, work_queue: WorkQueue, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inbox_crm.dispatch import work

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("throttled")

    monkeypatch.setattr(work, "due_items", broken)
    result = work_queue.run_scheduler()
    assert result["dispatch_failed"] is True
    assert result["silent_channels"] == 0  # the watchdog still ran


def test_no_item_starts_without_time_to_finish_it(
    inbox: World, graph: GraphStandIn, work_queue: WorkQueue
) -> None:
    import sender_handler

    conversation_id = _conversation()
    message = _schedule(conversation_id, "hola", utcnow() + timedelta(minutes=5))
    _due_now(message)
    work_queue.run_scheduler()
    # A sender invoked with less time left than one send may take reports the item back untouched.
    failed = work_queue.deliver_batch(timeout_seconds=int(sender_handler.MARGIN_SECONDS) - 1)
    assert failed is not None
    assert len(failed) == 1
    assert _sends(graph) == []
    assert _message(message.message_id).status == "scheduled"
    work_queue.drain()
    assert _message(message.message_id).status == "sent"


def test_expired_claims_are_swept_through_the_work_queue(
    inbox: World, graph: GraphStandIn, work_queue: WorkQueue
) -> None:
    conversation_id = _conversation()
    spec = SendSpec(content=OutboundContent(text="hola"))
    author = Author(Sender.HUMAN, "u")
    never_posted = compose("ws_alpha", conversation_id, spec, author).message
    posted = compose("ws_alpha", conversation_id, spec, author).message
    long_ago = utcnow() - transitions.LEASE - timedelta(seconds=5)
    for message in (never_posted, posted):
        assert delivery.claim(message, long_ago)  # their holders died a while ago
    posted.update(actions=[Message.post_started_at.set(long_ago)])
    assert work_queue.run_scheduler()["due"] == 2
    work_queue.drain()
    assert _message(never_posted.message_id).status == "sent"
    assert _message(posted.message_id).status == "unknown"
    assert len(_sends(graph)) == 1


def test_a_cancelled_scheduled_message_never_leaves(
    api: ApiClient, inbox: World, graph: GraphStandIn, work_queue: WorkQueue
) -> None:
    conversation_id = _conversation()
    path = f"/v1/conversations/{conversation_id}/messages"
    later = utcnow() + timedelta(minutes=5)
    kept = _schedule(conversation_id, "sí", later)
    dropped = _schedule(conversation_id, "no", later)
    for message in (kept, dropped):
        _due_now(message)
    assert work_queue.run_scheduler()["enqueued"] == 2  # already on its way to a sender…
    cancelled = api.post(f"{path}/{dropped.message_id}/cancel")
    assert cancelled.status == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    work_queue.drain()
    assert [s["body"]["message"]["text"] for s in _sends(graph)] == ["sí"]  # …and still never sent
    assert _message(dropped.message_id).status == "cancelled"
    again = api.post(f"{path}/{kept.message_id}/cancel")
    assert (again.status, again.json()["error"]["details"]["reason_code"]) == (409, "not_scheduled")
    assert api.post(f"{path}/{dropped.message_id}/cancel", as_="beta_owner").status == 404


def test_a_send_meta_never_confirmed_ends_failed_and_a_late_echo_still_makes_it_sent(
    api: ApiClient, inbox: World, graph: GraphStandIn, network: type[_Session]
) -> None:
    conversation_id = _conversation()
    network.faults = ["lost"]
    message = api.post(f"/v1/conversations/{conversation_id}/messages", {"text": "¿llegó?"}).json()
    assert schedule.send_due(utcnow() + timedelta(hours=1))["failed"] == 1
    assert _message(message["id"]).status == "failed"
    [sent] = _sends(graph)
    echo = unit(
        UnitKind.ECHO,
        text="¿llegó?",
        platform_message_id=sent["response"]["message_id"],
        echo_app_id="999999999999999",
        echo_metadata=message["id"],
        timestamp_ms=to_millis(utcnow()),
    )
    ingest(echo)
    settled = _message(message["id"])
    assert (settled.status, settled.error_code) == ("sent", None)


def test_an_unconfirmed_send_is_expired_through_the_work_queue_and_the_agent_may_retry_it(
    api: ApiClient,
    inbox: World,
    graph: GraphStandIn,
    network: type[_Session],
    work_queue: WorkQueue,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from inbox_crm.core.settings import get_settings

    monkeypatch.setenv("UNCONFIRMED_AFTER_SECONDS", "0")
    get_settings.cache_clear()
    conversation_id = _conversation()
    path = f"/v1/conversations/{conversation_id}/messages"
    network.faults = ["lost"]
    message = api.post(path, {"text": "hola"}).json()
    assert message["status"] == "unknown"
    assert work_queue.run_scheduler()["due"] == 1
    work_queue.drain()
    expired = _message(message["id"])
    assert (expired.status, expired.error_code) == ("failed", "delivery_unconfirmed")
    assert len(_sends(graph)) == 1  # never re-sent by itself
    retried = api.post(f"{path}/{message['id']}/retry")
    assert retried.status == 200, retried.text
    assert retried.json()["status"] == "sent"
    assert len(_sends(graph)) == 2
    get_settings.cache_clear()


def test_a_reply_stored_but_not_delivered_is_delivered_once_by_the_retried_request(
    api: ApiClient, inbox: World, graph: GraphStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    conversation_id = _conversation()
    crashed = crash_once_before_delivery(monkeypatch)
    path = f"/v1/conversations/{conversation_id}/messages"
    first = api.post(path, {"text": "una vez"}, headers={"Idempotency-Key": "k-crash"})
    assert first.status == 500
    assert _message(crashed[0]).status == "queued"
    assert _sends(graph) == []
    again = api.post(path, {"text": "una vez"}, headers={"Idempotency-Key": "k-crash"})
    assert again.status == 200, again.text  # the first request's message, not a new one
    assert (again.json()["id"], again.json()["status"]) == (crashed[0], "sent")
    assert len(_sends(graph)) == 1
    third = api.post(path, {"text": "una vez"}, headers={"Idempotency-Key": "k-crash"})
    assert (third.status, third.json()["status"]) == (200, "sent")
    assert len(_sends(graph)) == 1


def _dynamodb_requests(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts this process's DynamoDB requests by operation from now on (boto3 and pynamodb alike)."""
    from botocore.client import BaseClient

    counts: dict[str, int] = {}
    real = BaseClient._make_api_call

    def counted(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        if client.meta.service_model.service_name == "dynamodb":
            counts[operation] = counts.get(operation, 0) + 1
        return real(client, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counted)
    return counts


def test_a_due_send_reads_its_conversation_and_recipient_in_one_request(
    inbox: World, graph: GraphStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inbox_crm.dispatch import work

    conversation_id = _conversation()
    message = _schedule(conversation_id, "aviso", utcnow() + timedelta(minutes=5))
    _due_now(message)
    [item] = work.due_items(utcnow())
    requests_made = _dynamodb_requests(monkeypatch)
    assert work.process(item, lambda: True) == "sent"
    # Claim, conversation + identity, POST started, sent, the platform id's pointer: five requests.
    assert requests_made == {"UpdateItem": 3, "BatchGetItem": 1, "PutItem": 1}
    assert len(_sends(graph)) == 1


def test_a_due_send_composed_before_messages_named_their_identity_is_still_sent(
    inbox: World, graph: GraphStandIn
) -> None:
    from inbox_crm.dispatch import work

    conversation_id = _conversation()
    message = _schedule(conversation_id, "aviso", utcnow() + timedelta(minutes=5))
    message.update(actions=[Message.identity_id.remove()])
    _due_now(message)
    [item] = work.due_items(utcnow())
    assert work.process(item, lambda: True) == "sent"
    assert [request["body"]["recipient"] for request in _sends(graph)] == [{"id": unit().customer_id}]


def test_sends_from_one_container_share_one_connection_to_meta(
    inbox: World, graph: GraphStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    from inbox_crm.dispatch import work
    from inbox_crm.meta import graph as graph_module

    opened: list[requests.Session] = []

    class CountedSession(requests.Session):
        def __init__(self) -> None:
            super().__init__()
            opened.append(self)

    monkeypatch.setattr(graph_module.requests, "Session", CountedSession)
    conversation_id = _conversation()
    for n in range(3):
        _due_now(_schedule(conversation_id, f"aviso {n}", utcnow() + timedelta(minutes=5)))
    for item in work.due_items(utcnow()):
        assert work.process(item, lambda: True) == "sent"
    assert len(_sends(graph)) == 3
    assert len(opened) == 1  # one session, its connection kept alive, not a handshake per send
