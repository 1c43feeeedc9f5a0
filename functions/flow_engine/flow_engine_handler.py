"""Turns domain events into flow runs (template.yaml FlowEngineFunction, an EventBridge rule).

Idempotent on the event id: a run's id is a hash of the flow id and the event id, written with a
conditional put (flows/runs.py)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from inbox_crm.core.aws_needs import TABLE_READ_WRITE, needs
from inbox_crm.core.observability import logger, metrics, tracer
from inbox_crm.core.settings import load_settings
from inbox_crm.events.consumers import as_sent, parse_domain_event
from inbox_crm.flows.triggers import handle_domain_event

# What this function's code performs in AWS; template.yaml must grant it (tests/unit/test_iam.py).
AWS_NEEDS = needs(TABLE_READ_WRITE)
# Cold start fails here, naming any variable this function needs that is not set.
load_settings()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    detail = parse_domain_event(event)  # checked against its contract; triggers read it as sent
    logger.set_correlation_id(detail.metadata.correlation_id)
    logger.append_keys(workspace_id=detail.workspace_id)
    outcome = handle_domain_event(detail.DETAIL_TYPE, as_sent(detail))
    metrics.add_metric(name="FlowRunsStarted", unit=MetricUnit.Count, value=len(outcome["started"]))
    logger.info("flow engine", extra={"event": detail.DETAIL_TYPE, **outcome})
    return outcome
