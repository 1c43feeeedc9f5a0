"""Puts the outbox's events on the bus (template.yaml OutboxRelayFunction).

A DynamoDB stream event source, filtered to new OutboxEvent items (inbox_crm/events/outbox.py), hands this
function the events committed with the changes that imply them. The bus may refuse some: those
records are reported back (ReportBatchItemFailures) and Lambda retries the shard from the first of
them, bisecting a batch that keeps failing; after MaximumRetryAttempts the batch's description goes
to OutboxRelayDeadLetterQueue, and the items stay in the table (TTL two days) to be relayed again.
Consumers are idempotent on the event id, so a record relayed twice is harmless.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes import DynamoDBStreamEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from inbox_crm.core.aws_needs import PUBLISH_EVENTS, needs
from inbox_crm.core.observability import logger, metrics, tracer
from inbox_crm.core.settings import load_settings
from inbox_crm.events.outbox import bus_entry, put_on_bus

# What this function's code performs in AWS; template.yaml must grant it (tests/unit/test_iam.py).
# Reading the stream is Lambda's poller (SAM adds its managed role), and so is sending a failed
# batch's description to the on-failure queue (granted in template.yaml, not made by this code).
AWS_NEEDS = needs(PUBLISH_EVENTS)
# Cold start fails here, naming any variable this function needs that is not set.
load_settings()

OUTBOX_TYPE = "OutboxEvent"


def relay(stream: DynamoDBStreamEvent) -> list[str]:
    """Puts every outbox item of the batch on the bus; the sequence numbers of those refused."""
    sequence_numbers: list[str] = []
    entries: list[dict[str, Any]] = []
    for record in stream.records:
        image = record.dynamodb.new_image if record.dynamodb else None
        if not image or image.get("type") != OUTBOX_TYPE:
            continue  # the event source's filter lets only outbox items through; be safe anyway
        sequence_numbers.append(str(record.dynamodb.sequence_number))  # type: ignore[union-attr]
        entries.append(bus_entry(image["detail_type"], image["detail"]))
    refused = put_on_bus(entries) if entries else []
    metrics.add_metric(name="OutboxRelayed", unit=MetricUnit.Count, value=len(entries) - len(refused))
    if refused:
        metrics.add_metric(name="OutboxRefused", unit=MetricUnit.Count, value=len(refused))
        logger.warning(
            "the bus refused outbox events; the stream retries them", extra={"count": len(refused)}
        )
    return [sequence_numbers[index] for index in refused]


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    refused = relay(DynamoDBStreamEvent(event))
    return {"batchItemFailures": [{"itemIdentifier": sequence_number} for sequence_number in refused]}
