"""Runs every minute (template.yaml SchedulerFunction): sends what is due and watches channels.

Work is found through the sparse due-time index (gsi2) and claimed with conditional writes, so
overlapping runs never send twice and the cost follows what is due, not what is scheduled.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from inbox_crm.aws_needs import PAGE_TOKENS, PUBLISH_EVENTS, TABLE_READ_WRITE, needs
from inbox_crm.domain import broadcasts, channels, flows_engine, outbound
from inbox_crm.events import DomainEvent, publish
from inbox_crm.observability import logger, metrics, tracer
from inbox_crm.timeutil import iso, to_millis, utcnow

# What this function's code performs in AWS; template.yaml must grant it (tests/unit/test_iam.py).
AWS_NEEDS = needs(TABLE_READ_WRITE, PUBLISH_EVENTS, PAGE_TOKENS)


def watch_channels() -> int:
    """Meta unsubscribes an app after an hour of failed deliveries: say so once per silence."""
    now = utcnow()
    reported = []
    for channel in channels.silent_channels(now):
        if channels.mark_silence_reported(channel):
            reported.append(
                DomainEvent(
                    name="ChannelWentSilent",
                    workspace_id=channel.workspace_id,
                    cause=f"{channel.channel_id}:{to_millis(channel.last_webhook_at or now)}",
                    data={
                        "channel_id": channel.channel_id,
                        "channel": channel.platform,
                        "account_id": channel.account_id,
                        "last_webhook_at": iso(channel.last_webhook_at),
                    },
                )
            )
    if reported:
        publish(reported)
    return len(reported)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    sends = outbound.send_due()
    flow_waits = flows_engine.resume_due_waits()  # issue 5: waiting flow runs go on
    metrics.add_metric(name="FlowWaitsResumed", unit=MetricUnit.Count, value=flow_waits["resumed"])
    broadcasts_processed = broadcasts.process_due_broadcasts()
    silent = watch_channels()
    for name, value in sends.items():
        metrics.add_metric(name=f"Scheduled_{name}", unit=MetricUnit.Count, value=value)
    metrics.add_metric(name="ChannelsWentSilent", unit=MetricUnit.Count, value=silent)
    metrics.add_metric(name="BroadcastsProcessed", unit=MetricUnit.Count, value=broadcasts_processed)
    logger.info(
        "scheduler run", extra={"sends": sends, "broadcasts": broadcasts_processed, "silent_channels": silent}
    )
    return {"sends": sends, "broadcasts": broadcasts_processed, "silent_channels": silent}
