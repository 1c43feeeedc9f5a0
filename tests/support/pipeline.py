"""Drives a webhook through the real functions: webhook handler -> SQS FIFO (moto) -> ingest handler,
and captures what reaches the EventBridge bus through a rule, as a consumer would see it.

Events reach the bus as in AWS: committed to the table's outbox, read from its stream (moto) and
put on the bus by the outbox relay function, with the event source's filter from template.yaml."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

from inbox_crm.core.aws import client
from inbox_crm.core.settings import get_settings
from inbox_local.apigw import http_api_event, lambda_context
from inbox_local.streams import StreamReader, matches_filter, stream_filters
from inbox_local.template import load_template
from support.api import Reply

TEST_SECRET = "test-app-secret"


def meta_json(body: Any) -> bytes:
    """Serialise like Meta: escaped unicode, no spaces."""
    return json.dumps(body, ensure_ascii=True, separators=(",", ":")).encode("ascii")


def signature_for(raw: bytes, secret: str = TEST_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


@dataclass
class CapturedEvent:
    name: str
    detail: dict[str, Any]


RELAY_FUNCTION = "OutboxRelayFunction"


def outbox_stream() -> StreamReader:
    """The table's stream from its start, read with a client that does not use moto-unknown
    account-id endpoints."""
    stream_arn = client("dynamodb").describe_table(TableName=get_settings().table_name)["Table"][
        "LatestStreamArn"
    ]
    streams = boto3.client(
        "dynamodbstreams",
        region_name=get_settings().region,
        config=Config(account_id_endpoint_mode="disabled"),
    )
    return StreamReader(streams, stream_arn, start="TRIM_HORIZON")


class OutboxRelay:
    """The DynamoDB stream event source of template.yaml's relay function, driven on demand, with
    Lambda's retries: a failed invocation keeps its batch, a reported record keeps the batch from it."""

    def __init__(self) -> None:
        spec = load_template().functions[RELAY_FUNCTION]
        (source,) = (event["Properties"] for event in spec.events.values() if event["Type"] == "DynamoDB")
        self.filters = stream_filters(source)
        self.batch_size = int(source.get("BatchSize", 100))
        self.reader = outbox_stream()
        self.pending: list[dict[str, Any]] = []
        self.relayed = self.failures = 0

    def drain(self) -> int:
        """Hands the stream to the relay until it is read or the relay fails (retried on the next
        call, as Lambda retries the shard); the number of records handed over successfully."""
        from outbox_relay_handler import lambda_handler

        while True:
            batch = self.pending or self._read()
            if not batch:
                return self.relayed
            try:
                result = lambda_handler({"Records": batch}, lambda_context(RELAY_FUNCTION))
            except Exception:
                self.failures += 1
                self.pending = batch
                return self.relayed
            numbers = [record["dynamodb"]["SequenceNumber"] for record in batch]
            failed = [numbers.index(item["itemIdentifier"]) for item in result["batchItemFailures"]]
            if failed:
                self.failures += 1
                self.relayed += min(failed)
                self.pending = batch[min(failed) :]
                return self.relayed
            self.relayed += len(batch)
            self.pending = []

    def _read(self) -> list[dict[str, Any]]:
        while True:
            records = self.reader.read(self.batch_size)
            if not records:
                return []
            wanted = [r for r in records if any(matches_filter(r, pattern) for pattern in self.filters)]
            if wanted:
                return wanted


class FlakyBus:
    """EventBridge failing as it can: down (every PutEvents raises) or refusing some entries
    (FailedEntryCount), for the functions that put events on the bus."""

    def __init__(self, events_client: Any) -> None:
        self._events = events_client
        self.down = False
        self.refusing: set[str] = set()  # detail-types refused
        self.calls = 0

    def heal(self) -> None:
        self.down = False
        self.refusing = set()

    def put_events(self, Entries: list[dict[str, Any]]) -> dict[str, Any]:
        from botocore.exceptions import ClientError

        self.calls += 1
        if self.down:
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"}}, "PutEvents"
            )
        taken = [entry for entry in Entries if entry["DetailType"] not in self.refusing]
        answers = iter(self._events.put_events(Entries=taken)["Entries"] if taken else [])
        results = [
            next(answers)
            if entry["DetailType"] not in self.refusing
            else {"ErrorCode": "InternalFailure", "ErrorMessage": "Internal failure"}
            for entry in Entries
        ]
        return {"FailedEntryCount": sum("ErrorCode" in result for result in results), "Entries": results}

    def __getattr__(self, name: str) -> Any:
        return getattr(self._events, name)


class Pipeline:
    def __init__(self, queue_url: str, capture_url: str) -> None:
        self.queue_url = queue_url
        self.capture_url = capture_url
        self.sqs = client("sqs")
        self.outbox = OutboxRelay()

    @classmethod
    def create(cls, bus_name: str) -> Pipeline:
        sqs = client("sqs")
        queue_url = sqs.create_queue(
            QueueName="inbound.fifo",
            Attributes={"FifoQueue": "true", "VisibilityTimeout": "0", "DeduplicationScope": "messageGroup"},
        )["QueueUrl"]
        capture_url = sqs.create_queue(QueueName="captured-events")["QueueUrl"]
        capture_arn = sqs.get_queue_attributes(QueueUrl=capture_url, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        events = client("events")
        events.put_rule(
            Name="capture-all", EventBusName=bus_name, EventPattern=json.dumps({"source": ["inbox.crm"]})
        )
        events.put_targets(
            Rule="capture-all", EventBusName=bus_name, Targets=[{"Id": "q", "Arn": capture_arn}]
        )
        return cls(queue_url, capture_url)

    def post(self, body: Any = None, *, raw: bytes | None = None, signature: str | None = "auto") -> Reply:
        from webhook_handler import lambda_handler

        raw = raw if raw is not None else meta_json(body)
        headers = {"content-type": "application/json"}
        if signature == "auto":
            headers["X-Hub-Signature-256"] = signature_for(raw)
        elif signature is not None:
            headers["X-Hub-Signature-256"] = signature
        event = http_api_event("POST", "/webhooks/meta", headers=headers, body=raw)
        result = lambda_handler(event, lambda_context("WebhookFunction"))
        return Reply(result["statusCode"], result.get("headers") or {}, result.get("body") or "")

    def verify(self, query: dict[str, str]) -> Reply:
        from webhook_handler import lambda_handler

        event = http_api_event("GET", "/webhooks/meta", query=query)
        result = lambda_handler(event, lambda_context("WebhookFunction"))
        return Reply(result["statusCode"], result.get("headers") or {}, result.get("body") or "")

    def queued(self) -> int:
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    def drain(self, max_batches: int = 500) -> list[dict[str, Any]]:
        """Feed every queued unit to the ingest function, batch by batch, as the SQS trigger would."""
        from ingest_handler import lambda_handler

        results = []
        for _ in range(max_batches):
            received = self.sqs.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=10,
                MessageSystemAttributeNames=["All"],
            ).get("Messages", [])
            if not received:
                break
            records = [
                {
                    "messageId": message["MessageId"],
                    "receiptHandle": message["ReceiptHandle"],
                    "body": message["Body"],
                    "attributes": message.get("Attributes", {}),
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:inbound.fifo",
                }
                for message in received
            ]
            result = lambda_handler({"Records": records}, lambda_context("IngestFunction"))
            failed = {failure["itemIdentifier"] for failure in result["batchItemFailures"]}
            for message in received:
                if message["MessageId"] not in failed:
                    self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            results.append(result)
        return results

    def take_queued(self) -> list[dict[str, Any]]:
        """Every queued message body and group, read from the queue's backend store in one go: moto's
        ReceiveMessage walks the whole queue per call, which is quadratic for a 1000-unit batch."""
        from moto.sqs.models import sqs_backends

        queue_name = self.queue_url.rsplit("/", 1)[1]
        queue = sqs_backends["123456789012"]["us-east-1"].queues[queue_name]
        taken = [{"body": message.body, "group": message.group_id} for message in queue.messages]
        self.sqs.purge_queue(QueueUrl=self.queue_url)
        return taken

    def ingest_bodies(self, bodies: list[str]) -> None:
        """Feed message bodies to the ingest function ten at a time, as the SQS trigger does."""
        from ingest_handler import lambda_handler

        for start in range(0, len(bodies), 10):
            records = [
                {
                    "messageId": f"m-{start + index}",
                    "receiptHandle": "r",
                    "body": body,
                    "attributes": {"MessageGroupId": "g"},
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                }
                for index, body in enumerate(bodies[start : start + 10])
            ]
            result = lambda_handler({"Records": records}, lambda_context("IngestFunction"))
            assert result["batchItemFailures"] == []

    def events(self, name: str | None = None) -> list[CapturedEvent]:
        """What reached the bus so far (the outbox relayed first), oldest first."""
        self.outbox.drain()
        captured = []
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.capture_url, MaxNumberOfMessages=10).get(
                "Messages", []
            )
            if not messages:
                break
            for message in messages:
                envelope = json.loads(message["Body"])
                captured.append(CapturedEvent(envelope["detail-type"], envelope["detail"]))
                self.sqs.delete_message(QueueUrl=self.capture_url, ReceiptHandle=message["ReceiptHandle"])
        self._seen = [*getattr(self, "_seen", []), *captured]
        return [event for event in self._seen if name is None or event.name == name]
