"""Copies a message's WhatsApp media to the media bucket (EventBridge MessageReceived with media)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes import EventBridgeEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from inbox_crm.core.aws_needs import MEDIA_WRITE, PAGE_TOKENS, TABLE_READ_WRITE, needs
from inbox_crm.core.observability import logger, metrics, tracer
from inbox_crm.media.storage import copy_message_media

# What this function's code performs in AWS; template.yaml must grant it (tests/unit/test_iam.py).
AWS_NEEDS = needs(TABLE_READ_WRITE, MEDIA_WRITE, PAGE_TOKENS)


@logger.inject_lambda_context
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    detail = EventBridgeEvent(event).detail
    logger.set_correlation_id((detail.get("metadata") or {}).get("correlation_id"))
    copied = copy_message_media(
        detail["workspace_id"], detail["conversation_id"], detail["message_sk"], detail["account_id"]
    )
    return {"copied": copied}
