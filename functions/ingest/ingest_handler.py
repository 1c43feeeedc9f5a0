"""Applies buffered webhook units (SQS FIFO, template.yaml IngestFunction).

The domain events of a unit are committed with it (the outbox, inbox_crm/events/outbox.py); the outbox
relay puts them on the bus. A record that fails is reported back (ReportBatchItemFailures) so SQS
redelivers it, and the records after it in the same message group wait, keeping each conversation
in order.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from inbox_crm.core.aws_needs import TABLE_READ_WRITE, needs
from inbox_crm.core.observability import logger, metrics, tracer
from inbox_crm.core.settings import load_settings
from inbox_crm.ingest.pipeline import ingest
from inbox_crm.ingest.queue import from_message

# What this function's code performs in AWS; template.yaml must grant it (tests/unit/test_iam.py).
AWS_NEEDS = needs(TABLE_READ_WRITE)
# Cold start fails here, naming any variable this function needs that is not set.
load_settings()


def process_record(record: SQSRecord) -> str:
    unit, correlation_id = from_message(record.body)
    if correlation_id:
        logger.set_correlation_id(correlation_id)
    result = ingest(unit, correlation_id)
    metrics.add_metric(name=f"Ingest_{result.outcome}", unit=MetricUnit.Count, value=1)
    return result.outcome


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    failures: list[dict[str, str]] = []
    failed_groups: set[str] = set()
    for raw in event.get("Records", []):
        record = SQSRecord(raw)
        group = record.attributes.message_group_id or ""
        if group in failed_groups:
            # FIFO: never apply a later event of a conversation before an earlier one that failed.
            failures.append({"itemIdentifier": record.message_id})
            continue
        try:
            process_record(record)
        except Exception:
            logger.exception(
                "ingest failed; the unit will be redelivered", extra={"message_id": record.message_id}
            )
            failures.append({"itemIdentifier": record.message_id})
            failed_groups.add(group)
    return {"batchItemFailures": failures}
