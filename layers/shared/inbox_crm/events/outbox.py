"""Domain events on the EventBridge bus: PascalCase past-tense names, workspace id, correlation id.

Events are never put on the bus by the code that makes the change: they are outbox items written in
the same DynamoDB transaction (``stage``), and the table's stream hands them to the outbox relay
(functions/outbox_relay), which puts them on the bus, retrying until the bus takes them. A committed
change therefore always gets its events out, at least once (docs/ARCHITECTURE.md "Events are never lost").

Event ids are derived from what caused the event, so a retried write produces the same id and every
consumer (idempotent on the event id) applies it once. Every detail is checked against the contract of
its detail-type (events/contracts.py) before it is written: a drift fails the publisher, not a consumer.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pynamodb.transactions import TransactWrite

from inbox_crm.core.aws import client
from inbox_crm.core.ids import stable_id
from inbox_crm.core.observability import logger, tracer
from inbox_crm.core.settings import get_settings
from inbox_crm.core.timeutil import iso, utcnow
from inbox_crm.events.contracts import check
from inbox_crm.store.models import OutboxEvent

SOURCE = "inbox.crm"
_PUT_EVENTS_LIMIT = 10
# Longer than the stream keeps records (24 h): an item outlives every retry of its relay.
OUTBOX_RETENTION = timedelta(days=2)


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


def outbox_item(event: DomainEvent) -> OutboxEvent:
    """The event as an outbox item: written with the change, relayed to the bus by the table's stream.
    Raises ContractViolation when the detail does not match its detail-type's contract."""
    now = utcnow()
    detail = json.dumps(event.detail(), ensure_ascii=False, default=str)
    check(event.name, json.loads(detail))  # what the bus will carry: ContractViolation on a drift
    return OutboxEvent(
        *OutboxEvent.key(event.workspace_id, event.event_id),
        workspace_id=event.workspace_id,
        event_id=event.event_id,
        detail_type=event.name,
        detail=detail,
        created_at=now,
        expires_at=OUTBOX_RETENTION,
    )


def stage(tx: TransactWrite, events: Iterable[DomainEvent]) -> None:
    """Put the events in the outbox inside the transaction of the change that implies them: both are
    committed, or neither. No condition: a retried transaction rewrites the same items."""
    for event in events:
        tx.save(outbox_item(event))


def record(events: list[DomainEvent]) -> None:
    """Write the events to the outbox on their own, for a writer that writes them again when it is
    retried after a failure (its change is idempotent and re-announces itself)."""
    if len(events) == 1:
        outbox_item(events[0]).save()
        return
    with OutboxEvent.batch_write() as batch:
        for event in events:
            batch.save(outbox_item(event))


# ------------------------------------------------------------------ the relay's side


def bus_entry(detail_type: str, detail: str) -> dict[str, Any]:
    return {"Source": SOURCE, "DetailType": detail_type, "Detail": detail, "EventBusName": bus_name()}


def bus_name() -> str:
    return get_settings().event_bus_name


@tracer.capture_method(capture_response=False)
def put_on_bus(entries: list[dict[str, Any]]) -> list[int]:
    """PutEvents in chunks of ten; the positions of the entries the bus refused after one retry.

    Only the outbox relay calls this: everything else writes its events to the outbox.
    """
    pending = list(range(len(entries)))
    for attempt in range(2):
        refused: list[int] = []
        for start in range(0, len(pending), _PUT_EVENTS_LIMIT):
            chunk = pending[start : start + _PUT_EVENTS_LIMIT]
            response = client("events").put_events(Entries=[entries[index] for index in chunk])
            if response.get("FailedEntryCount"):
                refused.extend(
                    index
                    for index, result in zip(chunk, response["Entries"], strict=True)
                    if "ErrorCode" in result
                )
        if not refused:
            return []
        logger.warning("events refused by the bus", extra={"count": len(refused), "attempt": attempt + 1})
        pending = refused
    return pending
