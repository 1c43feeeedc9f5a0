"""Runs every minute (template.yaml SchedulerFunction): dispatches what is due and watches channels.

Due work (scheduled and queued messages, expired send claims, flow waits, broadcasts) is found
through the sparse due-time index (gsi2) and enqueued as independent work items for SenderFunction
(dispatch/work.py): the cost follows what is due, not what is scheduled, and no send happens here.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from inbox_crm.core.aws_needs import ENQUEUE_WORK, TABLE_READ_WRITE, needs
from inbox_crm.core.observability import logger, metrics, tracer
from inbox_crm.core.settings import load_settings
from inbox_crm.core.timeutil import utcnow
from inbox_crm.dispatch import work
from inbox_crm.workspaces import channels

# What this function's code performs in AWS; template.yaml must grant it (tests/unit/test_iam.py).
AWS_NEEDS = needs(TABLE_READ_WRITE, ENQUEUE_WORK)
# Cold start fails here, naming any variable this function needs that is not set.
load_settings("WORK_QUEUE_URL")


def watch_channels() -> int:
    """Meta unsubscribes an app after an hour of failed deliveries: say so once per silence."""
    now = utcnow()
    return sum(1 for channel in channels.silent_channels(now) if channels.mark_silence_reported(channel, now))


# Room to finish the enqueueing in flight before the function's timeout.
MARGIN_SECONDS = 5.0


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    has_time = work.time_left(context.get_remaining_time_in_millis, MARGIN_SECONDS)
    result: dict[str, Any] = {}
    # Each part is isolated: one failing never stops the others (they are due again next minute).
    try:
        items = work.due_items(utcnow(), has_time)
        result["due"] = len(items)
        result["enqueued"] = work.enqueue(items)
        metrics.add_metric(name="WorkEnqueued", unit=MetricUnit.Count, value=result["enqueued"])
    except Exception:
        logger.exception("due work not dispatched this minute")
        result["dispatch_failed"] = True
    try:
        result["silent_channels"] = watch_channels()
        metrics.add_metric(name="ChannelsWentSilent", unit=MetricUnit.Count, value=result["silent_channels"])
    except Exception:
        logger.exception("channel watchdog failed this minute")
        result["watch_failed"] = True
    logger.info("scheduler run", extra=result)
    return result
