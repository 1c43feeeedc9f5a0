"""Event sources, as Lambda's pollers would drive the functions in AWS: what they share (workers,
dead letters, retries) and ``SqsConsumer``, an SQS event source mapping (batch,
ReportBatchItemFailures, redelivery by visibility timeout). One batch at a time per queue, so FIFO
message groups stay in order. EventBridge rules and schedules: ``rules.py``; DynamoDB streams:
``streams.py``.
"""

from __future__ import annotations

import base64
import json
import logging
import threading
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from inbox_local.invoker import FunctionLoadError, LocalFunction
from inbox_local.resources import Queue

log = logging.getLogger("inbox_local.consumers")

SQS_MAX_BATCH = 10


@dataclass
class DeadLetter:
    source: str
    function: str
    error: str
    event: Any
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


class DeadLetters:
    """What exhausted its retries: kept in memory (the latest 100) and sent to the configured DLQ."""

    def __init__(self, sqs: Any) -> None:
        self._sqs = sqs
        self._letters: deque[DeadLetter] = deque(maxlen=100)
        self._lock = threading.Lock()

    def add(self, letter: DeadLetter, queue: Queue | None) -> None:
        with self._lock:
            self._letters.append(letter)
        log.error("dead letter: %s -> %s failed: %s", letter.source, letter.function, letter.error)
        if queue is None:
            return
        message: dict[str, Any] = {
            "QueueUrl": queue.url,
            "MessageBody": json.dumps(letter.event),
            "MessageAttributes": {
                "ERROR_MESSAGE": {"DataType": "String", "StringValue": letter.error[:1000]},
                "SOURCE": {"DataType": "String", "StringValue": letter.source},
            },
        }
        if queue.fifo:
            message.update(MessageGroupId=letter.source, MessageDeduplicationId=str(uuid.uuid4()))
        try:
            self._sqs.send_message(**message)
        except Exception as error:
            log.error("dead letter not sent to %s: %r", queue.name, error)

    def entries(self) -> list[dict[str, Any]]:
        with self._lock:
            return [asdict(letter) for letter in self._letters]


class Worker:
    """A daemon thread that loops until stopped, tracking whether it is between units of work."""

    def __init__(self, name: str, stop: threading.Event) -> None:
        self.name = name
        self._stop = stop
        self._busy = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    @property
    def busy(self) -> bool:
        return self._busy.is_set()

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once()
            except Exception as error:
                # moto unreachable (shutting down) or a bug here: keep the thread, back off.
                log.warning("%s: %r", self.name, error)
                self._stop.wait(1.0)
            finally:
                self._busy.clear()

    def poll_once(self) -> None:
        raise NotImplementedError


def receive(sqs: Any, queue: Queue, max_messages: int) -> list[dict[str, Any]]:
    response = sqs.receive_message(
        QueueUrl=queue.url,
        MaxNumberOfMessages=max(1, min(max_messages, SQS_MAX_BATCH)),
        WaitTimeSeconds=1,
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    return list(response.get("Messages", []))


def sqs_record(message: dict[str, Any], queue: Queue, region: str) -> dict[str, Any]:
    """One record of the SQS event Lambda hands a function (camelCase, attributes as strings)."""
    attributes = {
        name: value
        for name, value in message.get("Attributes", {}).items()
        if name
        in (
            "ApproximateReceiveCount",
            "SentTimestamp",
            "SenderId",
            "ApproximateFirstReceiveTimestamp",
            "SequenceNumber",
            "MessageGroupId",
            "MessageDeduplicationId",
            "AWSTraceHeader",
        )
    }
    message_attributes = {}
    for name, value in message.get("MessageAttributes", {}).items():
        binary = value.get("BinaryValue")
        message_attributes[name] = {
            "stringValue": value.get("StringValue"),
            "binaryValue": base64.b64encode(binary).decode("ascii") if binary is not None else None,
            "stringListValues": value.get("StringListValues", []),
            "binaryListValues": value.get("BinaryListValues", []),
            "dataType": value.get("DataType"),
        }
    record = {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message.get("Body", ""),
        "attributes": attributes,
        "messageAttributes": message_attributes,
        "md5OfBody": message.get("MD5OfBody"),
        "eventSource": "aws:sqs",
        "eventSourceARN": queue.arn,
        "awsRegion": region,
    }
    if message.get("MD5OfMessageAttributes"):
        record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
    return record


def failed_message_ids(result: Any, message_ids: list[str], reports_failures: bool) -> set[str]:
    """Lambda's ReportBatchItemFailures rules: an empty or null response is full success; a malformed
    one, or an identifier that is empty or not in the batch, fails the whole batch."""
    if not reports_failures or result is None:
        return set()
    if not isinstance(result, dict):
        return set(message_ids)
    failures = result.get("batchItemFailures")
    if not failures:
        return set()
    failed: set[str] = set()
    for item in failures:
        identifier = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not identifier or identifier not in message_ids:
            return set(message_ids)
        failed.add(identifier)
    return failed


class SqsConsumer(Worker):
    def __init__(
        self,
        function: LocalFunction,
        event_name: str,
        queue: Queue,
        properties: dict[str, Any],
        sqs: Any,
        region: str,
        stop: threading.Event,
    ) -> None:
        super().__init__(f"sqs:{queue.name}->{function.name}", stop)
        self.function = function
        self.event_name = event_name
        self.queue = queue
        self.batch_size = int(properties.get("BatchSize", 10))
        self.reports_failures = "ReportBatchItemFailures" in (properties.get("FunctionResponseTypes") or [])
        self._sqs = sqs
        self._region = region
        self.batches = self.records = self.failed_records = 0

    def poll_once(self) -> None:
        messages = receive(self._sqs, self.queue, self.batch_size)
        if not messages:
            return
        self._busy.set()
        self.batches += 1
        self.records += len(messages)
        records = [sqs_record(message, self.queue, self._region) for message in messages]
        ids = [record["messageId"] for record in records]
        try:
            result = self.function.invoke({"Records": records})
        except Exception as error:
            # Nothing is deleted: the whole batch comes back after the visibility timeout.
            self.failed_records += len(records)
            if isinstance(error, FunctionLoadError):
                return
            log.error("%s: batch of %d failed, left for redelivery: %r", self.name, len(records), error)
            return
        failed = failed_message_ids(result, ids, self.reports_failures)
        self.failed_records += len(failed)
        done = [record for record in records if record["messageId"] not in failed]
        for start in range(0, len(done), SQS_MAX_BATCH):
            chunk = done[start : start + SQS_MAX_BATCH]
            self._sqs.delete_message_batch(
                QueueUrl=self.queue.url,
                Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(chunk)],
            )
        if failed:
            log.warning("%s: %d of %d records reported failed", self.name, len(failed), len(records))

    def status(self) -> dict[str, Any]:
        return {
            "kind": "sqs",
            "name": self.name,
            "function": self.function.name,
            "event": self.event_name,
            "queue": self.queue.name,
            "queue_url": self.queue.url,
            "batches": self.batches,
            "records": self.records,
            "failed_records": self.failed_records,
        }


def invoke_with_retries(
    function: LocalFunction, event: Any, attempts: int, stop: threading.Event, base_delay: float = 0.25
) -> Exception | None:
    """None once an attempt succeeds; the last error after ``attempts`` tries with doubling pauses."""
    last_error: Exception | None = None
    for attempt in range(attempts):
        if attempt:
            stop.wait(base_delay * 2 ** (attempt - 1))
        try:
            function.invoke(event)
            return None
        except FunctionLoadError as error:
            return error  # the code is missing or broken: retrying within seconds cannot help
        except Exception as error:
            last_error = error
            log.warning("%s: attempt %d/%d failed: %r", function.name, attempt + 1, attempts, error)
    return last_error
