"""Outbound rules through fake ports: no moto, no Graph stand-in, nothing stored.

The policy at send time (which route a stored message takes, or why it is refused) and what Meta's
answers mean for a message (sent, partly sent, unknown, retry later, failed) are decided by
``outbound.delivery.plan`` / ``post``; the Graph client and the token store are reached through
``inbox_crm.ports``, replaced here by fakes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from inbox_crm.core.errors import InvalidInput
from inbox_crm.meta.graph import GraphError
from inbox_crm.meta.policy import Kind, Route, Sender
from inbox_crm.meta.send import OutboundContent, Request, explain
from inbox_crm.outbound import delivery
from inbox_crm.outbound.compose import Author, SendSpec, validate, window_decision
from inbox_crm.ports import SecretsTokens, ports, use_ports
from inbox_crm.store.models import Conversation, Identity, Message

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
PAGE, CUSTOMER = "100200300400", "7000000000000001"


def _conversation(
    platform: str = "messenger", hours_since_customer: float = 1, kind: str = "direct"
) -> Conversation:
    return Conversation(
        *Conversation.key("ws_rules", "cnv_1"),
        workspace_id="ws_rules",
        conversation_id="cnv_1",
        channel_id="chn_1",
        platform=platform,
        kind=kind,
        identity_id="idn_1",
        last_activity_at=NOW,
        last_inbound_at=NOW - timedelta(hours=hours_since_customer),
    )


def _identity(platform: str = "messenger") -> Identity:
    return Identity(
        *Identity.key("ws_rules", "idn_1"),
        workspace_id="ws_rules",
        identity_id="idn_1",
        channel_id="chn_1",
        platform=platform,
        account_id=PAGE,
        external_id=CUSTOMER,
    )


def _stored(sender: Sender, text: str | None = "hola", template: dict[str, Any] | None = None) -> Message:
    content: dict[str, Any] = {"reply_mode": "message"}
    if template:
        content["template"] = template
    return Message(
        "CNV#ws_rules#cnv_1",
        "MSG#1",
        workspace_id="ws_rules",
        conversation_id="cnv_1",
        message_id="msg_1",
        direction="outbound",
        sent_at=NOW,
        text=text,
        sender_kind=sender.value,
        sender_id="usr_1",
        content=content,
    )


class FakeGraph:
    """Answers each request in turn with the next scripted answer (a response, or a GraphError)."""

    def __init__(self, *answers: dict[str, Any] | GraphError) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, str, str | None, dict[str, Any] | None]] = []

    def request(
        self, method: str, path: str, token: str | None, *, json: dict[str, Any] | None = None, **_: Any
    ) -> dict[str, Any]:
        self.calls.append((method, path, token, json))
        answer = self.answers.pop(0)
        if isinstance(answer, GraphError):
            raise answer
        return answer

    def download(self, url: str, token: str | None, max_bytes: int = 0) -> tuple[bytes, str]:
        raise AssertionError("not used")

    def get_profile(self, platform: str, user_id: str, token: str | None) -> dict[str, Any]:
        raise AssertionError("not used")


class FakeTokens(SecretsTokens):
    def page_token(self, account_id: str) -> str | None:
        return f"token-of-{account_id}"


def _error(
    status: int, code: int | None = None, subcode: int | None = None, *, maybe: bool = False
) -> GraphError:
    error = GraphError(status, code, subcode, "refused")
    error.maybe_delivered = maybe
    return error


# ------------------------------------------------------------------ the policy at send time


def test_an_agent_reply_after_24_hours_goes_with_the_human_agent_tag() -> None:
    planned = delivery.plan(_stored(Sender.HUMAN), _conversation(hours_since_customer=25), _identity(), NOW)
    assert not isinstance(planned, delivery.Refused)
    [request] = planned
    assert request.path == f"{PAGE}/messages"
    assert request.body["recipient"] == {"id": CUSTOMER}
    assert (request.body["messaging_type"], request.body["tag"]) == ("MESSAGE_TAG", "HUMAN_AGENT")


def test_inside_the_window_a_reply_is_a_response() -> None:
    planned = delivery.plan(
        _stored(Sender.AUTOMATION), _conversation(hours_since_customer=2), _identity(), NOW
    )
    assert not isinstance(planned, delivery.Refused)
    assert [request.body["messaging_type"] for request in planned] == ["RESPONSE"]


def test_a_flow_message_that_waited_past_the_window_is_refused_at_send_time() -> None:
    message, late = _stored(Sender.AUTOMATION), _conversation(hours_since_customer=25)
    planned = delivery.plan(message, late, _identity(), NOW)
    assert isinstance(planned, delivery.Refused)
    assert planned.reason_code == "window_closed_template_required"


def test_a_whatsapp_template_is_sent_whenever_the_customer_last_wrote() -> None:
    template = {"name": "aviso", "language": "es_MX"}
    message = _stored(Sender.AUTOMATION, text=None, template=template)
    planned = delivery.plan(message, _conversation("whatsapp", 24 * 30), _identity("whatsapp"), NOW)
    assert not isinstance(planned, delivery.Refused)
    [request] = planned
    assert request.body["type"] == "template"
    assert request.body["biz_opaque_callback_data"] == "msg_1"  # a lost answer is still matched


def test_compose_decides_the_same_window_before_storing() -> None:
    agent, flow = Author(Sender.HUMAN, "usr_1"), Author(Sender.AUTOMATION, "flw_1")
    late = _conversation(hours_since_customer=25)
    assert window_decision(late, agent, Kind.FREE_FORM, NOW).route == Route.HUMAN_AGENT
    refused = window_decision(late, flow, Kind.FREE_FORM, NOW)
    assert (refused.allowed, refused.reason_code) == (False, "window_closed_template_required")


def test_what_a_channel_accepts_is_checked_before_anything_is_stored() -> None:
    text = SendSpec(content=OutboundContent(text="hola"))
    assert validate(_conversation(), text) == Kind.FREE_FORM
    with pytest.raises(InvalidInput):
        validate(_conversation(), SendSpec(content=OutboundContent()))
    with pytest.raises(InvalidInput):  # a comment is answered publicly or privately
        validate(_conversation(kind="comment"), text)
    with pytest.raises(InvalidInput):
        validate(_conversation("instagram"), SendSpec(content=OutboundContent(template={"name": "x"})))
    private = SendSpec(content=OutboundContent(text="te escribo"), reply_mode="private_reply")
    assert validate(_conversation(kind="comment"), private) == Kind.PRIVATE_REPLY


# ------------------------------------------------------------------ what Meta's answers mean


def _two_parts() -> list[Request]:
    return [
        Request("POST", f"{PAGE}/messages", {"n": 1}),
        Request("POST", f"{PAGE}/messages", {"n": 2}),
    ]


@pytest.mark.parametrize(
    ("answers", "kind", "sent_ids"),
    [
        ([{"message_id": "m_1"}, {"message_id": "m_2"}], "sent", ["m_1", "m_2"]),
        # the connection dropped after the request left: Meta may have it, never re-sent automatically
        ([_error(502, maybe=True)], "unknown", []),
        ([{"message_id": "m_1"}, _error(0, maybe=True)], "unknown", ["m_1"]),
        # a part reached the customer: what left is what they have
        ([{"message_id": "m_1"}, _error(400, 100)], "sent", ["m_1"]),
        # provably refused for now: a rate limit, a connection that never opened
        ([_error(400, 613)], "retry", []),
        ([_error(0)], "retry", []),
        # refused for good: the window closed at Meta's end
        ([_error(400, 10, 2018278)], "failed", []),
    ],
)
def test_each_answer_from_meta_is_classified(
    answers: list[dict[str, Any] | GraphError], kind: str, sent_ids: list[str]
) -> None:
    graph = FakeGraph(*answers)
    with use_ports(graph=lambda: graph):
        outcome = delivery.post(_two_parts(), "tok", ports().graph())
    assert (outcome.kind, outcome.sent_ids) == (kind, sent_ids)
    assert len(graph.calls) == len(answers)  # nothing more is sent after an error
    assert all(call[2] == "tok" for call in graph.calls)


def test_a_refusal_is_explained_to_the_agent() -> None:
    outcome = delivery.post(_two_parts()[:1], None, FakeGraph(_error(400, 10, 2018278)))
    assert outcome.kind == "failed"
    assert outcome.error is not None
    assert explain(outcome.error.code, outcome.error.subcode, outcome.error.message)[0] == "window_closed"


def test_the_token_comes_from_the_token_store_port() -> None:
    conversation, identity = _conversation(hours_since_customer=1), _identity()
    with use_ports(tokens=FakeTokens()):
        prepared = delivery.prepare(_stored(Sender.HUMAN), NOW, conversation, identity)
    assert not isinstance(prepared, Message)
    requests, token, platform, account_id = prepared
    assert (token, platform, account_id) == (f"token-of-{PAGE}", "messenger", PAGE)
    assert len(requests) == 1


def test_ports_are_restored_after_the_block() -> None:
    fake = FakeTokens()
    with use_ports(tokens=fake, clock=lambda: NOW):
        assert ports().tokens is fake
        assert ports().clock() == NOW
    assert ports().tokens is not fake
    assert ports().clock() != NOW
