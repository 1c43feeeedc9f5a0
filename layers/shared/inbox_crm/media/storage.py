"""Media we keep: copies of customers' WhatsApp media and agents' uploads, in the media bucket.

WhatsApp sends a media id (valid 7 days); after the message is stored, the MediaFunction asks the
Graph API for a short-lived URL, downloads it with the number's token and stores the bytes under
``ws/<workspace>/media/<message id>/<n>``. Copying is idempotent per attachment; failures leave the
message intact (the media id is kept) and are retried by the event's retry policy.
"""

from __future__ import annotations

import base64
import binascii
import mimetypes
import re
import unicodedata
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from inbox_crm.core.aws import client
from inbox_crm.core.errors import InvalidInput
from inbox_crm.core.ids import new_id
from inbox_crm.core.observability import logger, tracer
from inbox_crm.core.settings import get_settings
from inbox_crm.core.timeutil import utcnow
from inbox_crm.media.file_types import checked_type
from inbox_crm.ports import Graph, ports
from inbox_crm.store.models import Conversation, Message, Upload

MAX_UPLOAD_BYTES = 5 * 1024 * 1024  # API Gateway and Lambda payload limits leave room for ~5 MB base64
DOWNLOAD_LINK_SECONDS = 3600
UPLOAD_LINK = timedelta(days=7)  # long enough for Meta to fetch an attachment of a scheduled send
_SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _bucket() -> str:
    bucket = get_settings().media_bucket
    if not bucket:
        raise RuntimeError("MEDIA_BUCKET is not configured")
    return bucket


def presigned_download(key: str, seconds: int = DOWNLOAD_LINK_SECONDS, filename: str | None = None) -> str:
    """A link that always downloads the file (``Content-Disposition: attachment``), under its own
    name: a customer's or agent's file is never rendered inline, so an HTML file cannot run as a
    page of the bucket's origin."""
    params = {"Bucket": _bucket(), "Key": key, "ResponseContentDisposition": attachment_disposition(filename)}
    return str(client("s3").generate_presigned_url("get_object", Params=params, ExpiresIn=seconds))


def attachment_disposition(filename: str | None) -> str:
    """RFC 6266: an ASCII fallback name for old clients and the exact UTF-8 name (RFC 5987)."""
    name = display_name(filename or "file")
    fallback = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    fallback = re.sub(r'["\\]+', "_", fallback).strip() or "file"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"


def display_name(filename: str) -> str:
    """The name as the person wrote it (accents, spaces), minus any path and control characters."""
    name = re.split(r"[\\/]", unicodedata.normalize("NFC", filename))[-1]
    name = "".join(char for char in name if unicodedata.category(char)[0] != "C").strip()
    return name.strip(".") or "file"


@tracer.capture_method(capture_response=False)
def copy_message_media(
    workspace_id: str,
    conversation_id: str,
    message_sk: str,
    account_id: str,
    graph: Graph | None = None,
) -> int:
    """Copy every not-yet-copied media attachment of one message. Returns how many were copied."""
    try:
        message = Message.get(
            Conversation.pk_for(workspace_id, conversation_id), message_sk, consistent_read=True
        )
    except Message.DoesNotExist:
        return 0
    attachments = list(message.attachments or [])
    pending = [index for index, item in enumerate(attachments) if item.media_id and not item.storage_key]
    if not pending:
        return 0
    graph = graph or ports().graph()
    token = ports().tokens.page_token(account_id)
    s3 = client("s3")
    for index in pending:
        attachment = attachments[index]
        located = graph.request("GET", str(attachment.media_id), token)
        body, content_type = graph.download(str(located["url"]), token)
        key = f"ws/{workspace_id}/media/{message.message_id}/{index}"
        s3.put_object(Bucket=_bucket(), Key=key, Body=body, ContentType=attachment.mime_type or content_type)
        attachment.storage_key = key
        attachment.size = len(body)
    message.update(actions=[Message.attachments.set(attachments)], condition=Message.pk.exists())
    logger.info("media copied", extra={"message_id": message.message_id, "count": len(pending)})
    return len(pending)


def store_upload(
    workspace_id: str, user_id: str, filename: str, content_type: str, data_base64: str
) -> dict[str, Any]:
    """An agent's file for an attachment: stored privately, shared with Meta by a presigned link."""
    try:
        body = base64.b64decode(data_base64, validate=True)
    except (binascii.Error, ValueError):
        raise InvalidInput("data must be base64", {"fields": ["data"]}) from None
    if not body:
        raise InvalidInput("The file is empty", {"fields": ["data"]})
    if len(body) > MAX_UPLOAD_BYTES:
        raise InvalidInput(
            "The file is larger than 5 MB", {"fields": ["data"], "max_bytes": MAX_UPLOAD_BYTES}
        )
    name = display_name(filename)
    content_type = checked_type(content_type, body, guessed=mimetypes.guess_type(name)[0])
    upload_id = new_id("upl")
    safe = _SAFE_NAME.sub("_", name).strip("._") or "file"  # the storage key stays plain ASCII
    key = f"uploads/{workspace_id}/{upload_id}/{safe}"
    s3_name = attachment_disposition(name)
    client("s3").put_object(
        Bucket=_bucket(), Key=key, Body=body, ContentType=content_type, ContentDisposition=s3_name
    )
    Upload(
        *Upload.key(workspace_id, upload_id),
        upload_id=upload_id,
        storage_key=key,
        filename=name,
        content_type=content_type,
        size=len(body),
        uploaded_by=user_id,
        created_at=utcnow(),
    ).save()
    kind = _attachment_type(content_type)
    url = presigned_download(key, int(UPLOAD_LINK.total_seconds()), name)
    return {"id": upload_id, "url": url, "type": kind, "filename": name, "size": len(body)}


def _attachment_type(content_type: str) -> str:
    major = content_type.split("/", 1)[0]
    return major if major in ("image", "video", "audio") else "file"


def guess_type(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "application/octet-stream"
