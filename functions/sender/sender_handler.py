"""Does due work from the work queue (template.yaml SenderFunction): sends, flow waits, broadcast pages.

Each record is one independent item (dispatch/work.py); a failure is reported for that record only
(ReportBatchItemFailures), so SQS redelivers it and every other item, of any workspace, goes on.
No item starts unless the function has time left to finish it.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from inbox_crm.core.aws_needs import ENQUEUE_WORK, PAGE_TOKENS, TABLE_READ_WRITE, needs
from inbox_crm.core.observability import count, logger, metrics, tracer
from inbox_crm.core.settings import load_settings
from inbox_crm.dispatch import work

# What this function's code performs in AWS; template.yaml must grant it (tests/unit/test_iam.py).
# Flow waits go on to their next steps (events); a broadcast enqueues its next page.
AWS_NEEDS = needs(TABLE_READ_WRITE, PAGE_TOKENS, ENQUEUE_WORK)
# Cold start fails here, naming any variable this function needs that is not set.
load_settings("WORK_QUEUE_URL")

# Longer than the slowest single item (a Graph call with its retries, or one broadcast recipient).
MARGIN_SECONDS = 25.0

# A batch whose every record failed is reported like any other, not raised: SQS redelivers them.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    has_time = work.time_left(context.get_remaining_time_in_millis, MARGIN_SECONDS)

    def record_handler(record: SQSRecord) -> str:
        item = work.WorkItem.parse(record.body)
        outcome = work.process(item, has_time)
        count("WorkItems", kind=item.kind, outcome=outcome)
        return outcome

    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )
