"""Copies a message's WhatsApp media to the media bucket (EventBridge MessageReceived with media)."""

from __future__ import annotations

from aws_lambda_powertools.utilities.parser import envelopes, event_parser
from aws_lambda_powertools.utilities.typing import LambdaContext

from inbox_crm.core.aws_needs import MEDIA_WRITE, PAGE_TOKENS, TABLE_READ_WRITE, needs
from inbox_crm.core.observability import logger, metrics, tracer
from inbox_crm.core.settings import load_settings
from inbox_crm.events.contracts import MessageReceived
from inbox_crm.media.storage import copy_message_media

# What this function's code performs in AWS; template.yaml must grant it (tests/unit/test_iam.py).
AWS_NEEDS = needs(TABLE_READ_WRITE, MEDIA_WRITE, PAGE_TOKENS)
# Cold start fails here, naming any variable this function needs that is not set.
load_settings("MEDIA_BUCKET")


@logger.inject_lambda_context(clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
@event_parser(model=MessageReceived, envelope=envelopes.EventBridgeEnvelope)
def lambda_handler(event: MessageReceived, context: LambdaContext) -> dict[str, int]:
    logger.set_correlation_id(event.metadata.correlation_id)
    logger.append_keys(workspace_id=event.workspace_id)
    copied = copy_message_media(event.workspace_id, event.conversation_id, event.message_sk, event.account_id)
    return {"copied": copied}
