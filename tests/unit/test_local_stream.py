"""The local stack runs the outbox as AWS does: the table's stream read by a Lambda-like poller
(filter, retries from the first reported record, then a dead letter), and a restart hands over again
what a stop or a kill caught before the relay had it (issue 10)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from inbox_local.consumers import DeadLetters
from inbox_local.stack import STREAM_CHECKPOINT_MARGIN, hand_over_again
from inbox_local.streams import StreamCheckpoint, StreamConsumer, matches_filter, relay_batch, stream_filters
from inbox_local.template import load_template, table_create_kwargs

TABLE = "inbox-stream-test"
RELAY_SOURCE = load_template().functions["OutboxRelayFunction"].events["Outbox"]["Properties"]


def _record(number: int, item_type: str = "OutboxEvent", event_name: str = "INSERT") -> dict[str, Any]:
    image = {"pk": {"S": f"k{number}"}, "sk": {"S": "OUTBOX"}, "type": {"S": item_type}}
    return {"eventName": event_name, "dynamodb": {"SequenceNumber": str(100 + number), "NewImage": image}}


class FakeRelay:
    """Answers each invocation with the next scripted result: a list of failed positions, or an error."""

    name = "OutboxRelayFunction"

    def __init__(self, *script: Any) -> None:
        self.script = list(script)
        self.batches: list[list[str]] = []

    def invoke(self, event: dict[str, Any]) -> Any:
        numbers = [record["dynamodb"]["SequenceNumber"] for record in event["Records"]]
        self.batches.append(numbers)
        step = self.script.pop(0) if self.script else []
        if isinstance(step, Exception):
            raise step
        return {"batchItemFailures": [{"itemIdentifier": numbers[index]} for index in step]}


def test_the_template_filter_lets_only_new_outbox_items_through() -> None:
    [pattern] = stream_filters(RELAY_SOURCE)
    assert matches_filter(_record(1), pattern)
    assert not matches_filter(_record(2, item_type="Message"), pattern)
    assert not matches_filter(_record(3, event_name="MODIFY"), pattern)  # a retried write: relayed already


def test_a_reported_record_is_retried_with_those_after_it() -> None:
    relay = FakeRelay([1], RuntimeError("bus down"), [])
    left = relay_batch(relay, [_record(n) for n in range(4)], attempts=3, stop=threading.Event())  # type: ignore[arg-type]
    assert left == []
    assert relay.batches == [["100", "101", "102", "103"], ["101", "102", "103"], ["101", "102", "103"]]


def test_records_that_exhaust_their_retries_become_a_dead_letter() -> None:
    relay = FakeRelay(*[[0]] * 5)
    letters = DeadLetters(sqs=None)
    consumer = StreamConsumer(
        relay,  # type: ignore[arg-type]
        "Outbox",
        reader=type("Reader", (), {"stream_arn": "arn:aws:dynamodb:us-east-1:1:table/inbox/stream/x"})(),  # type: ignore[arg-type]
        properties={**RELAY_SOURCE, "MaximumRetryAttempts": 2},
        dead_letter_queue=None,
        dead_letters=letters,
        stop=threading.Event(),
    )
    consumer.handle([_record(1), _record(2)])
    assert len(relay.batches) == 3  # the first attempt and two retries
    [letter] = letters.entries()
    assert [r["dynamodb"]["SequenceNumber"] for r in letter["event"]["Records"]] == ["101", "102"]


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        client.create_table(**table_create_kwargs(load_template(), TABLE))
        yield client


def _item(key: str, created: datetime | None, item_type: str = "OutboxEvent") -> dict[str, Any]:
    item = {"pk": {"S": key}, "sk": {"S": "OUTBOX"}, "type": {"S": item_type}}
    if created is not None:
        item["created_at"] = {"S": created.strftime("%Y-%m-%dT%H:%M:%S.%f+0000")}
    return item


def _consumer(relay: FakeRelay) -> StreamConsumer:
    reader = type("Reader", (), {"stream_arn": f"arn:aws:dynamodb:us-east-1:1:table/{TABLE}/stream/x"})()
    return StreamConsumer(relay, "Outbox", reader, RELAY_SOURCE, None, DeadLetters(None), threading.Event())  # type: ignore[arg-type]


def test_a_restart_hands_over_the_outbox_items_written_since_the_checkpoint(
    dynamodb: Any, tmp_path: Path
) -> None:
    checkpoint = StreamCheckpoint(tmp_path / "stream-checkpoint.txt")
    assert checkpoint.load() is None
    caught_up = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    checkpoint.save(caught_up)
    assert checkpoint.load() == caught_up  # what the next start reads

    for key, created, item_type in [
        ("relayed", caught_up - timedelta(minutes=10), "OutboxEvent"),
        ("caught-by-the-stop", caught_up + timedelta(seconds=1), "OutboxEvent"),
        ("written-at-the-checkpoint", caught_up - timedelta(seconds=5), "OutboxEvent"),  # within the margin
        ("not-an-event", caught_up + timedelta(seconds=1), "Message"),
        ("no-time", None, "OutboxEvent"),
    ]:
        dynamodb.put_item(TableName=TABLE, Item=_item(key, created, item_type))
    relay = FakeRelay()
    since = caught_up - STREAM_CHECKPOINT_MARGIN
    assert hand_over_again(dynamodb, _consumer(relay), since, "us-east-1") == 2
    [batch] = relay.batches
    assert len(batch) == 2


def test_without_a_checkpoint_every_outbox_item_is_handed_over(dynamodb: Any) -> None:
    dynamodb.put_item(TableName=TABLE, Item=_item("a", datetime(2026, 1, 1, tzinfo=UTC)))
    dynamodb.put_item(TableName=TABLE, Item=_item("b", None))
    relay = FakeRelay()
    assert hand_over_again(dynamodb, _consumer(relay), None, "us-east-1") == 2
