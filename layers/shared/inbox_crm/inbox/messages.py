"""Message rules shared by inbound (ingest) and outbound (sending) and the inbox's reads: message ids,
status order and the conversation preview."""

from __future__ import annotations

from inbox_crm.core.ids import stable_id
from inbox_crm.store.models import Attachment

_PREVIEW_CHARS = 160

# WhatsApp statuses only move forward; "failed" is terminal.
STATUS_RANK = {"queued": 0, "sent": 1, "delivered": 2, "read": 3, "played": 4, "failed": 99, "deleted": 98}


def message_id_for(platform: str, account_id: str, platform_message_id: str) -> str:
    """Our id of a platform message: the same for the echo, the status and our own send."""
    return stable_id("msg", platform, account_id, platform_message_id)


def preview_of(text: str | None, attachments: list[Attachment] | None, kind: str) -> str:
    if text:
        return text[:_PREVIEW_CHARS]
    if attachments:
        return f"[{attachments[0].type}]"
    return f"[{kind}]"
