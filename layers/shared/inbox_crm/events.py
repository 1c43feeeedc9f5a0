"""Domain events on the EventBridge bus: PascalCase past-tense names, workspace id, correlation id.

Event ids are derived from what caused the event, so re-publishing after a retry produces the same
id and every consumer (idempotent on the event id) applies it once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from inbox_crm.aws import client
from inbox_crm.ids import stable_id
from inbox_crm.observability import logger
from inbox_crm.settings import get_settings
from inbox_crm.timeutil import iso, utcnow

SOURCE = "inbox.crm"
_PUT_EVENTS_LIMIT = 10


class EventDeliveryError(Exception):
    def __init__(self, failures: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(failures)} events were not accepted by the bus")
        self.failures = failures


@dataclass(frozen=True)
class DomainEvent:
    name: str  # the detail-type, e.g. MessageReceived
    workspace_id: str
    data: dict[str, Any]
    cause: str  # what made it happen, e.g. a message id: the event id is derived from it
    correlation_id: str | None = None
    caused_by_flow: str | None = None  # flow id when a flow's action caused it (loop guard)
    occurred_at: str = field(default_factory=lambda: iso(utcnow()) or "")

    @property
    def event_id(self) -> str:
        return stable_id("evt", self.name, self.workspace_id, self.cause)

    def detail(self) -> dict[str, Any]:
        return {
            **self.data,
            "workspace_id": self.workspace_id,
            "metadata": {
                "event_id": self.event_id,
                "correlation_id": self.correlation_id,
                "occurred_at": self.occurred_at,
                "caused_by_flow": self.caused_by_flow,
            },
        }


def publish(events: list[DomainEvent]) -> None:
    """Put the events on the bus; raises EventDeliveryError if any is refused after one retry."""
    bus = get_settings().event_bus_name
    pending = [
        {
            "Source": SOURCE,
            "DetailType": event.name,
            "Detail": json.dumps(event.detail(), ensure_ascii=False, default=str),
            "EventBusName": bus,
        }
        for event in events
    ]
    for attempt in range(2):
        failed: list[dict[str, Any]] = []
        for start in range(0, len(pending), _PUT_EVENTS_LIMIT):
            chunk = pending[start : start + _PUT_EVENTS_LIMIT]
            response = client("events").put_events(Entries=chunk)
            if response.get("FailedEntryCount"):
                failed.extend(
                    entry
                    for entry, result in zip(chunk, response["Entries"], strict=True)
                    if "ErrorCode" in result
                )
        if not failed:
            return
        logger.warning("events refused by the bus", extra={"count": len(failed), "attempt": attempt + 1})
        pending = failed
    raise EventDeliveryError(pending)
