"""Fetches a new sender's profile after their first message is stored (EventBridge IdentityCreated)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser import envelopes, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from inbox_crm.core.aws_needs import PAGE_TOKENS, TABLE_READ_WRITE, needs
from inbox_crm.core.observability import logger, metrics, tracer
from inbox_crm.core.settings import load_settings
from inbox_crm.events.contracts import IdentityCreated
from inbox_crm.identity.enrichment import enrich_identity

# What this function's code performs in AWS; template.yaml must grant it (tests/unit/test_iam.py).
AWS_NEEDS = needs(TABLE_READ_WRITE, PAGE_TOKENS)
# Cold start fails here, naming any variable this function needs that is not set.
load_settings()


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
@event_parser(model=IdentityCreated, envelope=envelopes.EventBridgeEnvelope)
def lambda_handler(event: IdentityCreated, context: LambdaContext) -> dict[str, str]:
    logger.set_correlation_id(event.metadata.correlation_id)
    logger.append_keys(workspace_id=event.workspace_id)
    status = enrich_identity(event.workspace_id, event.identity_id)
    return {"identity_id": event.identity_id, "profile_status": status}
