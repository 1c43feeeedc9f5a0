"""The ingest function's FIFO batches: a unit that fails holds back only the later units of its own
conversation (its message group); every other group goes on, in order."""

from __future__ import annotations

from typing import Any

import ingest_handler
import pytest

from inbox_crm.ingest.context import IngestResult
from inbox_crm.ingest.queue import to_message
from inbox_crm.meta.units import InboundUnit, UnitKind
from inbox_local.apigw import lambda_context


def unit(customer: str, n: int) -> InboundUnit:
    return InboundUnit(
        kind=UnitKind.MESSAGE,
        platform="messenger",
        account_id="page-1",
        customer_id=customer,
        timestamp_ms=1_700_000_000_000 + n,
        platform_message_id=f"m-{customer}-{n}",
        dedupe_key=f"mid:messenger:page-1:m-{customer}-{n}",
        text=f"{customer}{n}",
    )


def sqs_event(units: list[InboundUnit]) -> dict[str, Any]:
    records = []
    for u in units:
        message = to_message(u, None)
        records.append(
            {
                "messageId": f"record-{u.text}",
                "receiptHandle": "r",
                "body": message["MessageBody"],
                "attributes": {"MessageGroupId": message["MessageGroupId"]},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:inbound.fifo",
            }
        )
    return {"Records": records}


class FakeIngest:
    """Stands in for ingestion: records what it applied, in order, and fails the units named."""

    def __init__(self) -> None:
        self.applied: list[str] = []
        self.failing: set[str] = set()

    def __call__(self, u: InboundUnit, correlation_id: str | None = None) -> IngestResult:
        assert u.text is not None
        if u.text in self.failing:
            raise RuntimeError("DynamoDB said no")
        self.applied.append(u.text)
        return IngestResult("stored")


@pytest.fixture
def ingest(monkeypatch: pytest.MonkeyPatch) -> FakeIngest:
    fake = FakeIngest()
    monkeypatch.setattr(ingest_handler, "ingest", fake)
    return fake


def handle(batch: list[InboundUnit]) -> list[str]:
    """The records the function reports failed (SQS redelivers them; the others are deleted)."""
    result = ingest_handler.lambda_handler(sqs_event(batch), lambda_context("IngestFunction"))
    return [failure["itemIdentifier"] for failure in result["batchItemFailures"]]


def test_a_failed_unit_holds_back_only_the_later_units_of_its_group(ingest: FakeIngest) -> None:
    ingest.failing = {"a1"}
    batch = [unit("a", 0), unit("b", 0), unit("a", 1), unit("b", 1), unit("a", 2), unit("c", 0), unit("b", 2)]
    assert handle(batch) == ["record-a1", "record-a2"]
    assert ingest.applied == ["a0", "b0", "b1", "c0", "b2"]


def test_every_group_that_failed_is_held_back_on_its_own(ingest: FakeIngest) -> None:
    ingest.failing = {"a0", "c1"}
    batch = [unit("a", 0), unit("c", 0), unit("a", 1), unit("c", 1), unit("b", 0), unit("c", 2)]
    assert handle(batch) == ["record-a0", "record-a1", "record-c1", "record-c2"]
    assert ingest.applied == ["c0", "b0"]


def test_a_batch_that_fails_whole_is_reported_not_raised(ingest: FakeIngest) -> None:
    # Raising would count as a failed invocation (IngestFunctionErrorsAlarm); SQS redelivers either way.
    ingest.failing = {"a0", "b0"}
    assert handle([unit("a", 0), unit("b", 0), unit("a", 1)]) == ["record-a0", "record-b0", "record-a1"]
    assert ingest.applied == []
