"""DynamoDB stream event sources, as Lambda's stream poller would drive the functions in AWS:
event filtering, ReportBatchItemFailures retries, and a checkpoint that survives a restart.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from inbox_local.consumers import DeadLetter, DeadLetters, Worker, failed_message_ids
from inbox_local.invoker import FunctionLoadError, LocalFunction
from inbox_local.resources import Queue

log = logging.getLogger("inbox_local.streams")


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


class StreamConsumer(Worker):
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
