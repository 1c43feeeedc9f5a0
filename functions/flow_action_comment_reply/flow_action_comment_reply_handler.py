"""Flow step: Reply to a comment publicly or privately (FlowActionRequested, action: reply_comment).

Idempotent per (run, step path); raises on transient errors so the rule retries, then dead-letters
(domain/flows_engine.py perform_step)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from inbox_crm.domain.flows_engine import actions_for, perform_step
from inbox_crm.observability import logger, metrics, tracer

ACTIONS = actions_for("reply_comment")


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    detail = EventBridgeEvent(event).detail
    logger.set_correlation_id((detail.get("metadata") or {}).get("correlation_id"))
    outcome = perform_step(detail, ACTIONS)
    logger.info("flow step", extra={"run_id": detail.get("run_id"), "path": detail.get("path"), **outcome})
    return outcome
