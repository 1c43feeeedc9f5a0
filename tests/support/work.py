"""Drives due work as in AWS: SchedulerFunction enqueues on the work queue (moto SQS), SenderFunction
consumes it in batches of 10 with partial-batch failures, redelivering what failed."""

from __future__ import annotations

from typing import Any

from inbox_crm.core.aws import client
from inbox_local.apigw import lambda_context
from inbox_local.consumers import sqs_record
from inbox_local.resources import Queue


class WorkQueue:
    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url
        self.sqs = client("sqs")
        arn = self.sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
        self.queue = Queue(logical_id="WorkQueue", name="work", url=queue_url, arn=arn["QueueArn"])

    @classmethod
    def create(cls) -> WorkQueue:
        url = client("sqs").create_queue(QueueName="work", Attributes={"VisibilityTimeout": "0"})["QueueUrl"]
        return cls(url)

    def run_scheduler(self, timeout_seconds: int = 20) -> dict[str, Any]:
        import scheduler_handler

        result: dict[str, Any] = scheduler_handler.lambda_handler(
            {}, lambda_context("SchedulerFunction", timeout_seconds)
        )
        return result

    def depth(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    def deliver_batch(self, timeout_seconds: int = 60) -> list[str] | None:
        """One SenderFunction invocation with up to 10 records; the ids it reported failed (None: empty)."""
        import sender_handler

        messages = self.sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, AttributeNames=["All"]
        ).get("Messages", [])
        if not messages:
            return None
        event = {"Records": [sqs_record(message, self.queue, "us-east-1") for message in messages]}
        response = sender_handler.lambda_handler(event, lambda_context("SenderFunction", timeout_seconds))
        failed = {item["itemIdentifier"] for item in response.get("batchItemFailures", [])}
        done = [
            {"Id": str(index), "ReceiptHandle": message["ReceiptHandle"]}
            for index, message in enumerate(messages)
            if message["MessageId"] not in failed
        ]
        if done:  # as Lambda's poller does: the records not reported failed are deleted
            self.sqs.delete_message_batch(QueueUrl=self.queue_url, Entries=done)
        return sorted(failed)

    def drain(self, max_batches: int = 200) -> int:
        """Invoke the sender until the queue is empty; returns how many batches it took."""
        for batch in range(max_batches):
            if self.deliver_batch() is None:
                return batch
        raise AssertionError("the work queue never drained")
