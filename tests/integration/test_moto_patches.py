"""The patches that keep moto's cost per request flat (local/inbox_local/moto_patches.py): the work
queue's senders, the bench and the local stack drain queues of thousands of messages."""

from __future__ import annotations

from typing import Any

import pytest

from inbox_crm.core.aws import client


def test_receiving_does_not_walk_the_whole_queue_per_message(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from moto.sqs.models import Queue

    sqs = client("sqs")
    url = sqs.create_queue(QueueName="walked")["QueueUrl"]
    for start in range(0, 50, 10):
        sqs.send_message_batch(
            QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": f"m{start + n}"} for n in range(10)]
        )
    walks: list[Any] = []
    counted = Queue.approximate_number_of_messages

    def counting(queue: Any) -> int:
        walks.append(queue)
        return counted.fget(queue)  # type: ignore[attr-defined,no-any-return]

    monkeypatch.setattr(Queue, "approximate_number_of_messages", property(counting))
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(received) == 10
    assert walks == []  # moto computed every attribute (a walk of all messages) per message received
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "40"  # still answered when asked for
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "10"
