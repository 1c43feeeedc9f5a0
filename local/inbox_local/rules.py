"""EventBridge rules and schedules, as EventBridge would drive the functions in AWS.

* ``RuleConsumer``: an EventBridge rule. moto matches the pattern on the real PutEvents path and
  delivers to a queue; this drains it and invokes the function with the event, retrying with backoff,
  then dead-lettering.
* ``ScheduleTimer``: a Schedule / ScheduleV2 event, fired every few seconds locally.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import uuid
from datetime import UTC, datetime
from typing import Any

from inbox_local.aws import ACCOUNT_ID
from inbox_local.consumers import (
    SQS_MAX_BATCH,
    DeadLetter,
    DeadLetters,
    Worker,
    invoke_with_retries,
    receive,
)
from inbox_local.invoker import FunctionLoadError, LocalFunction
from inbox_local.resources import Queue

log = logging.getLogger("inbox_local.rules")


def local_attempts(properties: dict[str, Any], local_max_retries: int | None = None) -> int:
    """1 + the template's retries, capped (LOCAL_RULE_MAX_RETRIES, 2): AWS retries for hours,
    locally failures should show fast."""
    if local_max_retries is None:
        local_max_retries = int(os.environ.get("LOCAL_RULE_MAX_RETRIES", "2"))
    retries = (properties.get("RetryPolicy") or {}).get("MaximumRetryAttempts", local_max_retries)
    return 1 + min(int(retries), local_max_retries)


class RuleConsumer(Worker):
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
        messages = receive(self._sqs, self.queue, SQS_MAX_BATCH)
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
