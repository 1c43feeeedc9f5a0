"""Event sources, as Lambda's pollers and EventBridge would drive the functions in AWS.

* ``SqsConsumer``: an SQS event source mapping (batch, ReportBatchItemFailures, redelivery by
  visibility timeout). One batch at a time per queue, so FIFO message groups stay in order.
* ``RuleConsumer``: an EventBridge rule. moto matches the pattern on the real PutEvents path and
  delivers to a queue; this drains it and invokes the function with the event, retrying with backoff,
  then dead-lettering.
* ``ScheduleTimer``: a Schedule / ScheduleV2 event, fired every few seconds locally.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inbox_local.aws import ACCOUNT_ID
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


class _Worker:
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


def _receive(sqs: Any, queue: Queue, max_messages: int) -> list[dict[str, Any]]:
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


class SqsConsumer(_Worker):
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
        messages = _receive(self._sqs, self.queue, self.batch_size)
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


def local_attempts(properties: dict[str, Any], local_max_retries: int | None = None) -> int:
    """1 + the template's retries, capped (LOCAL_RULE_MAX_RETRIES, 2): AWS retries for hours,
    locally failures should show fast."""
    if local_max_retries is None:
        local_max_retries = int(os.environ.get("LOCAL_RULE_MAX_RETRIES", "2"))
    retries = (properties.get("RetryPolicy") or {}).get("MaximumRetryAttempts", local_max_retries)
    return 1 + min(int(retries), local_max_retries)


class RuleConsumer(_Worker):
    def __init__(
        self,
        function: LocalFunction,
        rule_name: str,
        queue: Queue,
        properties: dict[str, Any],
        dead_letter_queue: Queue | None,
        dead_letters: DeadLetters,
        sqs: Any,
        stop: threading.Event,
    ) -> None:
        super().__init__(f"rule:{rule_name}->{function.name}", stop)
        self.function = function
        self.rule_name = rule_name
        self.queue = queue
        self.properties = properties
        self.attempts = local_attempts(properties)
        self._dead_letter_queue = dead_letter_queue
        self._dead_letters = dead_letters
        self._sqs = sqs
        self.events = self.failed_events = 0

    def poll_once(self) -> None:
        messages = _receive(self._sqs, self.queue, SQS_MAX_BATCH)
        if not messages:
            return
        self._busy.set()
        for message in messages:
            self.events += 1
            # moto's rule target leaves out the envelope's account, which EventBridge always sends
            event = self._target_input({"account": ACCOUNT_ID, **json.loads(message["Body"])})
            error = invoke_with_retries(self.function, event, self.attempts, self._stop)
            if error is not None:
                self.failed_events += 1
                letter = DeadLetter(f"rule:{self.rule_name}", self.function.name, repr(error), event)
                self._dead_letters.add(letter, self._dead_letter_queue)
            self._sqs.delete_message(QueueUrl=self.queue.url, ReceiptHandle=message["ReceiptHandle"])

    def _target_input(self, event: dict[str, Any]) -> Any:
        """The rule target's Input (constant JSON) or InputPath ($.a.b) applied to the matched event."""
        if "Input" in self.properties:
            return json.loads(self.properties["Input"])
        path = self.properties.get("InputPath")
        if path:
            selected: Any = event
            for key in path.removeprefix("$").strip(".").split("."):
                selected = selected.get(key) if isinstance(selected, dict) and key else selected
            return selected
        return event

    def status(self) -> dict[str, Any]:
        return {
            "kind": "eventbridge-rule",
            "name": self.name,
            "function": self.function.name,
            "rule": self.rule_name,
            "queue": self.queue.name,
            "events": self.events,
            "failed_events": self.failed_events,
        }


def scheduled_event(event_type: str, schedule_name: str, properties: dict[str, Any], region: str) -> Any:
    """What EventBridge (Schedule) or EventBridge Scheduler (ScheduleV2) hands the function."""
    if "Input" in properties:
        return json.loads(properties["Input"])
    if event_type == "ScheduleV2":
        source, resource = (
            "aws.scheduler",
            f"arn:aws:scheduler:{region}:{ACCOUNT_ID}:schedule/default/{schedule_name}",
        )
    else:
        source, resource = "aws.events", f"arn:aws:events:{region}:{ACCOUNT_ID}:rule/{schedule_name}"
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": source,
        "account": ACCOUNT_ID,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [resource],
        "detail": {},
    }


def schedule_enabled(properties: dict[str, Any]) -> bool:
    if properties.get("Enabled") is False:
        return False
    return str(properties.get("State", "ENABLED")).upper() == "ENABLED"


class ScheduleTimer:
    """Fires one schedule every ``interval`` seconds (0: only on demand) and on demand."""

    def __init__(
        self,
        function: LocalFunction,
        event_type: str,
        event_name: str,
        properties: dict[str, Any],
        interval: float,
        region: str,
        dead_letter_queue: Queue | None,
        dead_letters: DeadLetters,
        stop: threading.Event,
    ) -> None:
        self.function = function
        self.event_type = event_type
        self.schedule_name = f"{function.name}{event_name}"
        self.properties = properties
        self.interval = interval if schedule_enabled(properties) else 0
        self._region = region
        self._dead_letter_queue = dead_letter_queue
        self._dead_letters = dead_letters
        self._stop = stop
        self._thread = threading.Thread(target=self._run, name=f"schedule:{self.schedule_name}", daemon=True)
        self.fires = self.failures = 0
        self.last_fired_at: str | None = None

    def start(self) -> None:
        if self.interval > 0:
            self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def event(self) -> Any:
        return scheduled_event(self.event_type, self.schedule_name, self.properties, self._region)

    def fire_now(self) -> Any:
        """One invocation, no retries: the handler's result, or its exception raised."""
        self.fires += 1
        self.last_fired_at = datetime.now(UTC).isoformat()
        try:
            return self.function.invoke(self.event())
        except Exception:
            self.failures += 1
            raise

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            event = self.event()
            self.fires += 1
            self.last_fired_at = datetime.now(UTC).isoformat()
            error = invoke_with_retries(self.function, event, local_attempts(self.properties), self._stop)
            if error is not None:
                self.failures += 1
                if isinstance(error, FunctionLoadError):
                    continue  # already logged by the function; a timer event carries no data to keep
                letter = DeadLetter(f"schedule:{self.schedule_name}", self.function.name, repr(error), event)
                self._dead_letters.add(letter, self._dead_letter_queue)

    def status(self) -> dict[str, Any]:
        return {
            "kind": self.event_type,
            "name": self.schedule_name,
            "function": self.function.name,
            "expression": self.properties.get("ScheduleExpression"),
            "local_interval_seconds": self.interval,
            "fires": self.fires,
            "failures": self.failures,
            "last_fired_at": self.last_fired_at,
        }


# ------------------------------------------------------------------ DynamoDB streams


def matches_filter(record: dict[str, Any], pattern: dict[str, Any]) -> bool:
    """Lambda's event filtering, for the subset the template uses: nested keys, lists of exact values."""
    for key, expected in pattern.items():
        value = record.get(key) if isinstance(record, dict) else None
        if isinstance(expected, dict):
            if not isinstance(value, dict) or not matches_filter(value, expected):
                return False
        elif value not in expected:
            return False
    return True


def stream_filters(properties: dict[str, Any]) -> list[dict[str, Any]]:
    filters = (properties.get("FilterCriteria") or {}).get("Filters") or []
    return [json.loads(item["Pattern"]) for item in filters]


def lambda_stream_record(record: dict[str, Any], stream_arn: str) -> dict[str, Any]:
    """A GetRecords record as Lambda hands it to a function: epoch seconds, the stream's ARN."""
    dynamodb = dict(record["dynamodb"])
    created = dynamodb.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dynamodb["ApproximateCreationDateTime"] = created.timestamp()
    return {**record, "dynamodb": dynamodb, "eventSourceARN": stream_arn}


class StreamReader:
    """A DynamoDB stream read as Lambda's poller reads it: every shard from an iterator, in order."""

    def __init__(self, streams: Any, stream_arn: str, start: str = "TRIM_HORIZON") -> None:
        self._streams = streams
        self.stream_arn = stream_arn
        shards = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]
        self._iterators = {
            shard["ShardId"]: streams.get_shard_iterator(
                StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType=start
            )["ShardIterator"]
            for shard in shards
        }

    def read(self, limit: int) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = []
        for shard_id, iterator in list(self._iterators.items()):
            if len(records) >= limit:
                break
            response = self._streams.get_records(ShardIterator=iterator, Limit=limit - len(records))
            self._iterators[shard_id] = response["NextShardIterator"]
            records.extend(lambda_stream_record(record, self.stream_arn) for record in response["Records"])
        return records


def relay_batch(
    function: LocalFunction, records: list[dict[str, Any]], attempts: int, stop: threading.Event
) -> list[dict[str, Any]]:
    """Lambda's stream retries with ReportBatchItemFailures: a failed invocation retries the whole
    batch, a reported record retries from the lowest one reported. What is left after ``attempts``."""
    pending = records
    for attempt in range(attempts):
        if not pending:
            return []
        if attempt:
            stop.wait(0.1 * 2 ** (attempt - 1))
        try:
            result = function.invoke({"Records": pending})
        except FunctionLoadError:
            return pending
        except Exception as error:
            log.warning(
                "%s: stream batch failed (attempt %d/%d): %r", function.name, attempt + 1, attempts, error
            )
            continue
        numbers = [record["dynamodb"]["SequenceNumber"] for record in pending]
        failed = failed_message_ids(result, numbers, reports_failures=True)
        if not failed:
            return []
        first = min(numbers.index(number) for number in failed)
        pending = pending[first:]
    return pending


class StreamCheckpoint:
    """A time before which everything written to the stream had been handled, kept in a file so a
    restart hands over again only what may not have been (written at most once a second)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._saved_at = 0.0

    def load(self) -> datetime | None:
        try:
            return datetime.fromisoformat(self.path.read_text(encoding="utf-8").strip())
        except (OSError, ValueError):
            return None  # never caught up: everything may not have been handled

    def save(self, caught_up_at: datetime) -> None:
        if time.monotonic() - self._saved_at < 1.0:
            return
        temporary = self.path.with_name(f".{self.path.name}.tmp")
        temporary.write_text(caught_up_at.isoformat(), encoding="utf-8")
        os.replace(temporary, self.path)
        self._saved_at = time.monotonic()


class StreamConsumer(_Worker):
    """A DynamoDB stream event source mapping: filtered batches, retried, then dead-lettered.

    ``caught_up_at`` is a time when everything written to the stream before it had been handled;
    the checkpoint file keeps it across restarts.
    """

    def __init__(
        self,
        function: LocalFunction,
        event_name: str,
        reader: StreamReader,
        properties: dict[str, Any],
        dead_letter_queue: Queue | None,
        dead_letters: DeadLetters,
        stop: threading.Event,
        checkpoint: StreamCheckpoint | None = None,
    ) -> None:
        super().__init__(f"stream:{reader.stream_arn.split('/')[1]}->{function.name}", stop)
        self._checkpoint = checkpoint
        self.function = function
        self.event_name = event_name
        self.reader = reader
        self.batch_size = int(properties.get("BatchSize", 100))
        self.filters = stream_filters(properties)
        retries = properties.get("MaximumRetryAttempts", 2)
        self.attempts = 1 + min(int(retries) if int(retries) >= 0 else 10, 10)
        self._dead_letter_queue = dead_letter_queue
        self._dead_letters = dead_letters
        self.caught_up_at: datetime | None = None
        self.records = self.failed_records = 0

    def poll_once(self) -> None:
        started = datetime.now(UTC)
        records = self.reader.read(self.batch_size)
        if not records:
            self.caught_up_at = started
            if self._checkpoint is not None:
                self._checkpoint.save(started)
            self._stop.wait(0.2)
            return
        self._busy.set()
        self.handle([record for record in records if self.wanted(record)])

    def wanted(self, record: dict[str, Any]) -> bool:
        return not self.filters or any(matches_filter(record, pattern) for pattern in self.filters)

    def handle(self, records: list[dict[str, Any]]) -> None:
        if not records:
            return
        self.records += len(records)
        left = relay_batch(self.function, records, self.attempts, self._stop)
        if left:
            self.failed_records += len(left)
            event = {"Records": left}
            letter = DeadLetter(f"stream:{self.event_name}", self.function.name, "retries exhausted", event)
            self._dead_letters.add(letter, self._dead_letter_queue)

    def status(self) -> dict[str, Any]:
        return {
            "kind": "dynamodb-stream",
            "name": self.name,
            "function": self.function.name,
            "event": self.event_name,
            "records": self.records,
            "failed_records": self.failed_records,
            "caught_up_at": self.caught_up_at.isoformat() if self.caught_up_at else None,
        }
