"""The Lambda handler every flow-action function is made of: one function per action type, as the
rules in template.yaml route them, sharing this body (idempotent per run and step path; it raises on
transient errors so the rule retries, then dead-letters)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools.utilities.parser import envelopes, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from inbox_crm.core.observability import logger, metrics, tracer
from inbox_crm.core.settings import load_settings
from inbox_crm.events.consumers import as_sent
from inbox_crm.events.contracts import FlowActionRequested
from inbox_crm.flows.actions import actions_for
from inbox_crm.flows.runs import perform_step


def flow_action_handler(*action_types: str) -> Callable[[dict[str, Any], LambdaContext], dict[str, Any]]:
    load_settings()  # at the function's cold start: a missing variable fails it here, named
    actions = actions_for(*action_types)

    @logger.inject_lambda_context(clear_state=True)
    @tracer.capture_lambda_handler(capture_response=False)
    @metrics.log_metrics
    @event_parser(model=FlowActionRequested, envelope=envelopes.EventBridgeEnvelope)
    def lambda_handler(event: FlowActionRequested, context: LambdaContext) -> dict[str, Any]:
        logger.set_correlation_id(event.metadata.correlation_id)
        logger.append_keys(workspace_id=event.workspace_id)
        outcome = perform_step(as_sent(event), actions)
        logger.info("flow step", extra={"run_id": event.run_id, "path": event.path, **outcome})
        return outcome

    return lambda_handler
