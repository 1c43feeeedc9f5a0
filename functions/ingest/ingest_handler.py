"""Applies buffered webhook units (SQS FIFO, template.yaml IngestFunction).

The domain events of a unit are committed with it (the outbox, inbox_crm/events/outbox.py); the outbox
relay puts them on the bus. A record that fails is reported back (ReportBatchItemFailures) so SQS
redelivers it, and the records after it in the same message group (one conversation) are reported
with it, keeping each conversation in order; other groups go on (Powertools' SqsFifoPartialProcessor).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import SqsFifoPartialProcessor, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from inbox_crm.core.aws_needs import TABLE_READ_WRITE, needs
from inbox_crm.core.observability import count, logger, metrics, tracer
from inbox_crm.core.settings import load_settings
from inbox_crm.ingest.pipeline import ingest
from inbox_crm.ingest.queue import from_message

# What this function's code performs in AWS; template.yaml must grant it (tests/unit/test_iam.py).
AWS_NEEDS = needs(TABLE_READ_WRITE)
# Cold start fails here, naming any variable this function needs that is not set.
load_settings()

processor = SqsFifoPartialProcessor(skip_group_on_error=True)
# A batch that failed whole is reported like any other, not raised: SQS redelivers the same records
# either way, and the function's Errors alarm stays for invocations that crashed.
processor.raise_on_entire_batch_failure = False


def process_record(record: SQSRecord) -> str:
    try:
        unit, correlation_id = from_message(record.body)
        if correlation_id:
            logger.set_correlation_id(correlation_id)
        result = ingest(unit, correlation_id)
        count("Ingested", outcome=result.outcome)
    except Exception:
        logger.exception(
            "ingest failed; the unit will be redelivered", extra={"message_id": record.message_id}
        )
        raise  # the processor reports it, and the later records of its group
    return result.outcome


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return dict(process_partial_response(event, process_record, processor, context))
