"""Broadcasts and their recipients."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    MapAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from inbox_crm.store.models.base import InboxItem, ws_pk


class Broadcast(InboxItem, discriminator="Broadcast"):
    """A message to every contact with a tag; listed per workspace, due on gsi2 while it runs."""

    workspace_id = UnicodeAttribute()
    broadcast_id = UnicodeAttribute()
    name = UnicodeAttribute()
    tag_id = UnicodeAttribute()
    channel = UnicodeAttribute()  # whatsapp | messenger | instagram
    content = MapAttribute[str, Any]()
    status = UnicodeAttribute()  # scheduled | running | done | cancelled
    created_by = UnicodeAttribute()
    send_at = UTCDateTimeAttribute()
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    cursor = UnicodeAttribute(null=True)  # where the tag listing resumes
    sent = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)
    skipped = NumberAttribute(default=0)

    @staticmethod
    def key(workspace_id: str, broadcast_id: str) -> tuple[str, str]:
        return f"{ws_pk(workspace_id)}#BROADCASTS", f"BROADCAST#{broadcast_id}"

    @staticmethod
    def recipients_pk(workspace_id: str, broadcast_id: str) -> str:
        return f"{ws_pk(workspace_id)}#BROADCAST#{broadcast_id}"


class BroadcastRecipient(InboxItem, discriminator="BroadcastRecipient"):
    contact_id = UnicodeAttribute()
    status = UnicodeAttribute()  # sending | sent | failed | skipped
    reason = UnicodeAttribute(null=True)
    conversation_id = UnicodeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)
