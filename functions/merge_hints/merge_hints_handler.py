"""Identity hints (EventBridge): a MessageReceived whose text holds an email or phone of a contact
becomes a merge suggestion; a WhatsApp auto-link (ContactAssociated, automatic) refreshes the
contact's shared-value suggestions, since the link gave it a WhatsApp phone. docs/MERGE.md."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from inbox_crm.core.aws_needs import TABLE_READ_WRITE, needs
from inbox_crm.core.observability import logger, metrics, tracer
from inbox_crm.core.settings import load_settings
from inbox_crm.events.consumers import parse_domain_event
from inbox_crm.events.contracts import ContactAssociated, EventDetail, MessageReceived
from inbox_crm.identity import suggestions

# What this function's code performs in AWS; template.yaml must grant it (tests/unit/test_iam.py).
AWS_NEEDS = needs(TABLE_READ_WRITE)
# Cold start fails here, naming any variable this function needs that is not set.
load_settings()


def handle(detail: EventDetail) -> dict[str, Any]:
    if isinstance(detail, ContactAssociated):
        suggestions.refresh_contact(detail.workspace_id, detail.contact_id)
        return {"refreshed": detail.contact_id}
    if not isinstance(detail, MessageReceived) or not detail.text:
        return {"hints": 0}
    written = suggestions.hints_from_message(
        detail.workspace_id, detail.identity_id, detail.conversation_id, detail.message_id, detail.text
    )
    return {"hints": len(written)}


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    detail = parse_domain_event(event)
    logger.set_correlation_id(detail.metadata.correlation_id)
    logger.append_keys(workspace_id=detail.workspace_id)
    return handle(detail)
