"""Lambda entry point of the HTTP API (routes: template.yaml ApiFunction events)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from inbox_crm.api.app import resolve
from inbox_crm.core.aws_needs import (
    MEDIA_READ,
    MEDIA_WRITE,
    META_APP_SECRET,
    PAGE_TOKENS,
    STORE_PAGE_TOKENS,
    TABLE_READ_WRITE,
    needs,
)
from inbox_crm.core.observability import logger, metrics, tracer
from inbox_crm.core.settings import load_settings

# What this function's code performs in AWS; template.yaml must grant it (tests/unit/test_iam.py).
# (The app secret signs debug_token calls when a channel is connected.)
AWS_NEEDS = needs(TABLE_READ_WRITE, MEDIA_READ, MEDIA_WRITE, PAGE_TOKENS, STORE_PAGE_TOKENS, META_APP_SECRET)
# Cold start fails here, naming any variable this function needs that is not set.
load_settings("MEDIA_BUCKET")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP, clear_state=True)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return resolve(event, context)
