"""Events are never lost (issue 10): every domain event a committed write implies reaches the bus,
whatever fails between the write and the bus. Events are outbox items committed with the write; the
table's stream hands them to the outbox relay (docs/ARCHITECTURE.md "Events are never lost").

Each test makes the bus fail where the old dual write (commit, then PutEvents) lost the events: the
write stood, the retry found nothing left to do, and nothing was ever announced.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from inbox_crm.ingest.ids import direct_conversation_id, identity_id_for
from inbox_crm.store.models import Message, OutboxEvent
from inbox_crm.workspaces import channels
from support.api import ApiClient
from support.pipeline import FlakyBus, Pipeline
from support.units import BASE_MS, PAGE
from support.world import World

SENDERS = [f"70000000000{index:05d}" for index in range(6)]


@pytest.fixture
def inbox(world: World, pipeline: Pipeline) -> Pipeline:
    channels.register_channel("ws_alpha", "messenger", PAGE, "Tienda", "usr_alpha_owner")
    return pipeline


def text_delivery(sender: str, at_ms: int = BASE_MS) -> dict[str, Any]:
    message = {"mid": f"m_{sender}_{at_ms}", "text": "hola"}
    event = {"sender": {"id": sender}, "recipient": {"id": PAGE}, "timestamp": at_ms, "message": message}
    return {"object": "page", "entry": [{"id": PAGE, "time": at_ms, "messaging": [event]}]}


def ids_by_name(pipeline: Pipeline) -> dict[str, Counter[str]]:
    counted: dict[str, Counter[str]] = {}
    for event in pipeline.events():
        counted.setdefault(event.name, Counter())[event.detail["metadata"]["event_id"]] += 1
    return counted


def stored_messages() -> int:
    return sum(1 for item in Message.scan() if isinstance(item, Message))


def test_a_bus_outage_after_ingestion_loses_no_event_even_when_the_units_come_again(
    inbox: Pipeline, flaky_bus: FlakyBus
) -> None:
    flaky_bus.down = True
    for sender in SENDERS:
        assert inbox.post(text_delivery(sender)).status == 200
    inbox.drain()
    assert stored_messages() == len(SENDERS)
    assert inbox.events() == []  # the bus took nothing so far
    assert inbox.outbox.failures >= 1
    # Meta delivers everything again (and SQS would redeliver): duplicates, nothing new to store.
    for sender in SENDERS:
        assert inbox.post(text_delivery(sender)).status == 200
    inbox.drain()
    assert stored_messages() == len(SENDERS)

    flaky_bus.heal()
    counted = ids_by_name(inbox)
    for name in ("IdentityCreated", "ConversationOpened", "MessageReceived"):
        assert len(counted[name]) == len(SENDERS), name
        assert set(counted[name].values()) == {1}, name  # once per event id
    identities = {event.detail["identity_id"] for event in inbox.events("IdentityCreated")}
    assert identities == {identity_id_for("messenger", PAGE, sender) for sender in SENDERS}


def test_entries_the_bus_refuses_are_retried_until_it_takes_them(
    inbox: Pipeline, flaky_bus: FlakyBus
) -> None:
    flaky_bus.refusing = {"MessageReceived"}  # PutEvents answers FailedEntryCount for these only
    for sender in SENDERS[:3]:
        inbox.post(text_delivery(sender))
    inbox.drain()
    assert inbox.events("MessageReceived") == []
    assert len({e.detail["identity_id"] for e in inbox.events("IdentityCreated")}) == 3

    flaky_bus.heal()
    received = Counter(e.detail["metadata"]["event_id"] for e in inbox.events("MessageReceived"))
    assert len(received) == 3
    assert set(received.values()) == {1}
    # The relay retried from the first refused record: events after it may come twice, with their id.
    identities = Counter(e.detail["metadata"]["event_id"] for e in inbox.events("IdentityCreated"))
    assert len(identities) == 3


def test_an_ingest_attempt_that_crashes_after_its_commit_still_announces_the_message(
    inbox: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    import ingest_handler

    crashes = []
    real = ingest_handler.count

    def crash_once(name: str, value: float = 1, **dimensions: str) -> None:
        if not crashes and name == "Ingested":
            crashes.append(dimensions)
            raise RuntimeError("the container died after the write")
        real(name, value, **dimensions)

    monkeypatch.setattr(ingest_handler, "count", crash_once)
    inbox.post(text_delivery(SENDERS[0]))
    results = inbox.drain()  # the first attempt fails after storing; SQS redelivers: a duplicate
    assert crashes
    assert any(result["batchItemFailures"] for result in results)
    assert stored_messages() == 1
    counted = ids_by_name(inbox)
    assert sum(counted["MessageReceived"].values()) == 1
    assert sum(counted["IdentityCreated"].values()) == 1


def test_an_api_change_is_announced_once_although_the_bus_was_down(
    inbox: Pipeline, flaky_bus: FlakyBus, api: ApiClient
) -> None:
    inbox.post(text_delivery(SENDERS[0]))
    inbox.drain()
    conversation_id = direct_conversation_id(identity_id_for("messenger", PAGE, SENDERS[0]))
    flaky_bus.down = True
    assert api.post(f"/v1/conversations/{conversation_id}/close").status == 200
    assert (
        api.post(f"/v1/conversations/{conversation_id}/assign", {"assignee_id": "usr_alpha_agent"}).status
        == 200
    )
    assert inbox.events("ConversationClosed") == []
    # The agent, seeing no change downstream, closes again: already closed, nothing new happened.
    assert api.post(f"/v1/conversations/{conversation_id}/close").status == 200

    flaky_bus.heal()
    [closed] = inbox.events("ConversationClosed")
    assert closed.detail["conversation_id"] == conversation_id
    assert closed.detail["by"] == "usr_alpha_owner"
    assert closed.detail["metadata"]["correlation_id"]
    [assigned] = inbox.events("ConversationAssigned")
    assert assigned.detail["assignee_id"] == "usr_alpha_agent"


def test_an_agents_change_is_announced_under_an_id_derived_from_the_change_not_the_request(
    inbox: Pipeline, api: ApiClient
) -> None:
    """Issue 11: a conversation's events are identified by the change (the conversation and its
    revision), not by the API request: a replayed request (a client's retry, a new request id)
    announces nothing new, and each real change is announced once under its own id."""
    inbox.post(text_delivery(SENDERS[0]))
    inbox.drain()
    base = f"/v1/conversations/{direct_conversation_id(identity_id_for('messenger', PAGE, SENDERS[0]))}"
    for _ in range(2):  # the same requests, replayed
        assert api.post(f"{base}/assign", {"assignee_id": "usr_alpha_agent"}).status == 200
        assert api.post(f"{base}/close").status == 200
    assert api.post(f"{base}/reopen").status == 200
    assert api.post(f"{base}/close").status == 200

    counted = ids_by_name(inbox)
    assert list(counted["ConversationAssigned"].values()) == [1]
    assert list(counted["ConversationClosed"].values()) == [1, 1]  # two closes: two ids, each once
    assert list(counted["ConversationReopened"].values()) == [1]


def test_a_change_that_raced_another_is_announced_at_its_own_revision(
    inbox: Pipeline, api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two agents assign from the same read: the second write finds the revision moved on, reads again
    and is announced under the next revision, so neither announcement hides the other."""
    from inbox_crm.inbox import conversations

    inbox.post(text_delivery(SENDERS[0]))
    inbox.drain()
    conversation_id = direct_conversation_id(identity_id_for("messenger", PAGE, SENDERS[0]))
    base = f"/v1/conversations/{conversation_id}"
    stale = [conversations.get_conversation("ws_alpha", conversation_id)]  # read before the other's write
    assert api.post(f"{base}/assign", {"assignee_id": "usr_alpha_agent"}).status == 200
    read = conversations.get_conversation
    monkeypatch.setattr(conversations, "get_conversation", lambda *key: stale.pop() if stale else read(*key))
    reply = api.post(f"{base}/assign", {"assignee_id": "usr_alpha_manager"})
    assert (reply.status, reply.json()["assignee_id"]) == (200, "usr_alpha_manager")

    assigned = inbox.events("ConversationAssigned")
    assert [event.detail["assignee_id"] for event in assigned] == ["usr_alpha_agent", "usr_alpha_manager"]
    assert len({event.detail["metadata"]["event_id"] for event in assigned}) == 2


def test_outbox_items_are_written_with_the_change_and_expire(inbox: Pipeline) -> None:
    inbox.post(text_delivery(SENDERS[0]))
    inbox.drain()
    outbox = [item for item in OutboxEvent.scan() if isinstance(item, OutboxEvent)]
    assert sorted(item.detail_type for item in outbox) == [
        "ConversationOpened",
        "IdentityCreated",
        "MessageReceived",
    ]
    for item in outbox:
        assert item.pk == f"WS#ws_alpha#OUTBOX#{item.event_id}"  # one partition per event: no hot key
        assert item.expires_at is not None
        assert item.created_at is not None
        lifetime = item.expires_at - item.created_at  # TTL is in whole seconds
        assert timedelta(days=2) - timedelta(seconds=1) < lifetime <= timedelta(days=2)
