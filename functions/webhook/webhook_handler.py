"""Meta webhook: GET verification handshake, POST signed deliveries (routes: template.yaml).

POST: the signature is checked over the raw body before anything is parsed; the delivery is split
into per-event units and put on the inbound FIFO queue; only then is Meta answered 200. Everything
else (identities, conversations, enrichment, automation) happens after the answer.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from inbox_crm.core import safe_json
from inbox_crm.core.aws_needs import ENQUEUE_INBOUND, META_APP_SECRETS, needs
from inbox_crm.core.observability import logger, metrics, tracer
from inbox_crm.core.secrets import meta_app_secrets, meta_verify_token
from inbox_crm.core.settings import get_settings, load_settings
from inbox_crm.ingest.queue import enqueue
from inbox_crm.meta.signature import verify_handshake, verify_signature
from inbox_crm.meta.webhook import parse_delivery, unreadable_delivery

# What this function's code performs in AWS; template.yaml must grant it (tests/unit/test_iam.py).
AWS_NEEDS = needs(META_APP_SECRETS, ENQUEUE_INBOUND)
# Cold start fails here, naming any variable this function needs that is not set.
load_settings("INBOUND_QUEUE_URL")

SIGNATURE_HEADER = "x-hub-signature-256"


def _reply(status: int, body: Any, content_type: str = "application/json") -> dict[str, Any]:
    text = body if isinstance(body, str) else json.dumps(body)
    return {"statusCode": status, "headers": {"Content-Type": content_type}, "body": text}


def _error(status: int, code: str, message: str) -> dict[str, Any]:
    return _reply(status, {"error": {"code": code, "message": message, "details": None}})


def _raw_body(event: dict[str, Any]) -> bytes:
    body = event.get("body") or ""
    if event.get("isBase64Encoded"):
        return base64.b64decode(body, validate=True)
    return body.encode("utf-8")


def handle_verification(event: dict[str, Any]) -> dict[str, Any]:
    challenge = verify_handshake(event.get("queryStringParameters") or {}, meta_verify_token())
    if challenge is None:
        logger.warning("webhook verification refused")
        return _error(403, "verification_failed", "Wrong verify token or mode")
    return _reply(200, challenge, "text/plain")


def handle_delivery(event: dict[str, Any]) -> dict[str, Any]:
    headers = {key.lower(): value for key, value in (event.get("headers") or {}).items()}
    signature = headers.get(SIGNATURE_HEADER)
    if not signature:
        return _error(401, "signature_missing", "X-Hub-Signature-256 is required")
    try:
        raw = _raw_body(event)
    except (binascii.Error, ValueError):
        return _error(400, "malformed_body", "The body could not be decoded")
    if len(raw) > get_settings().max_webhook_body_bytes:
        return _error(413, "body_too_large", "The body is larger than a Meta delivery can be")
    if not verify_signature(raw, signature, meta_app_secrets()):
        metrics.add_metric(name="WebhookSignatureRejected", unit=MetricUnit.Count, value=1)
        return _error(403, "signature_invalid", "The signature does not match the body")
    try:
        units = parse_delivery(safe_json.loads(raw), our_app_id=get_settings().meta_app_id)
    except safe_json.UnreadableJson as unreadable:
        # Signed by Meta but unreadable: refusing it only makes Meta retry for days. Record it.
        logger.warning("signed webhook body unreadable", extra={"reason": unreadable.code})
        units = [unreadable_delivery(raw, unreadable.code)]
    enqueue(units, correlation_id=logger.get_correlation_id())
    metrics.add_metric(name="WebhookUnitsQueued", unit=MetricUnit.Count, value=len(units))
    logger.info("webhook delivery queued", extra={"units": len(units)})
    return _reply(200, "EVENT_RECEIVED", "text/plain")


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@tracer.capture_lambda_handler(capture_response=False)
@metrics.log_metrics
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    method = event.get("requestContext", {}).get("http", {}).get("method", "").upper()
    if method == "GET":
        return handle_verification(event)
    return handle_delivery(event)
