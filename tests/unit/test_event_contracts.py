"""Events are typed contracts: a detail that drifts from its detail-type's model is refused where it
is staged, before anything is written; consumers read details through the same models."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest
from pydantic import ValidationError

from inbox_crm.events.consumers import as_sent, parse_domain_event
from inbox_crm.events.contracts import ContractViolation, MessageReceived
from inbox_crm.events.outbox import DomainEvent, stage

MESSAGE = {
    "conversation_id": "cnv_1",
    "message_id": "msg_1",
    "identity_id": "idn_1",
    "channel": "messenger",
    "channel_id": "chn_1",
    "account_id": "1000",
    "kind": "postback",
    "payload": {"nested": {"order": 7}},
    "message_sk": "MSG#0001#msg_1",
}


def _event(name: str = "MessageReceived", **data: Any) -> DomainEvent:
    return DomainEvent(name=name, workspace_id="ws_alpha", data=data, cause="msg_1", correlation_id="req-1")


def _bus_event(name: str, detail: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": "e-1",
        "detail-type": name,
        "source": "inbox.crm",
        "account": "123456789012",
        "time": "2026-01-01T00:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": detail,
    }


def test_a_detail_matching_its_contract_is_staged() -> None:
    tx = mock.Mock()
    stage(tx, [_event(**MESSAGE)])
    [(item,), _] = tx.save.call_args
    assert item.detail_type == "MessageReceived"
    assert json.loads(item.detail)["payload"] == {"nested": {"order": 7}}


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("MessageReceived", {**MESSAGE, "conversationId": MESSAGE["conversation_id"]}, "extra_forbidden"),
        ("MessageReceived", {k: v for k, v in MESSAGE.items() if k != "message_sk"}, "missing"),
        ("MessageReceived", {**MESSAGE, "channel": "telegram"}, "literal_error"),
        ("MessageRecieved", MESSAGE, "no contract"),
    ],
    ids=["renamed field", "missing field", "unknown channel", "unknown detail-type"],
)
def test_a_drifted_detail_is_refused_at_staging(name: str, data: dict[str, Any], reason: str) -> None:
    tx = mock.Mock()
    with pytest.raises(ContractViolation, match=reason):
        stage(tx, [_event(name, **data)])
    tx.save.assert_not_called()


def test_a_consumer_reads_the_detail_as_its_contracts_model_and_as_it_was_sent() -> None:
    detail = json.loads(json.dumps(_event(**MESSAGE, contact_id=None).detail()))
    parsed = parse_domain_event(_bus_event("MessageReceived", detail))
    assert isinstance(parsed, MessageReceived)
    assert parsed.metadata.correlation_id == "req-1"
    assert as_sent(parsed) == detail  # what dict-reading code (flow triggers) sees is unchanged


def test_a_consumer_refuses_a_drifted_detail_before_reading_it() -> None:
    detail = json.loads(json.dumps(_event(**MESSAGE).detail()))
    del detail["identity_id"]
    with pytest.raises(ContractViolation, match="identity_id"):
        parse_domain_event(_bus_event("MessageReceived", detail))
    with pytest.raises(ValidationError):  # not an EventBridge event at all
        parse_domain_event({"detail": detail})
