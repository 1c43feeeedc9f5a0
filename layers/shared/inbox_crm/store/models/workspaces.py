"""Workspaces, their members and their channel accounts (and the global account routes)."""

from __future__ import annotations

from pynamodb.attributes import (
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from inbox_crm.store.models.base import InboxItem, ws_pk


class Workspace(InboxItem, discriminator="Workspace"):
    workspace_id = UnicodeAttribute()
    name = UnicodeAttribute()
    # Region used to read national phone numbers ("55 1234 5678" in MX) and to format them.
    default_region = UnicodeAttribute(default="MX")
    language = UnicodeAttribute(default="es")
    timezone = UnicodeAttribute(default="America/Mexico_City")

    @staticmethod
    def key(workspace_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), "WORKSPACE"


class User(InboxItem, discriminator="User"):
    workspace_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    role = UnicodeAttribute()  # owner | manager | agent
    # active | disabled | removed: only active members may call the API (workspaces/principal.py).
    status = UnicodeAttribute(default="active")

    @staticmethod
    def key(workspace_id: str, user_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), f"USER#{user_id}"


class ChannelAccount(InboxItem, discriminator="ChannelAccount"):
    workspace_id = UnicodeAttribute()
    channel_id = UnicodeAttribute()
    platform = UnicodeAttribute()  # messenger | instagram | whatsapp
    account_id = UnicodeAttribute()  # Page id | IG account id | WhatsApp phone_number_id
    name = UnicodeAttribute()
    status = UnicodeAttribute(default="active")  # active | removed
    created_by = UnicodeAttribute(null=True)
    removed_at = UTCDateTimeAttribute(null=True)
    removed_by = UnicodeAttribute(null=True)
    last_webhook_at = UTCDateTimeAttribute(null=True)

    @staticmethod
    def key(workspace_id: str, channel_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), f"CHANNEL#{channel_id}"


class ChannelRoute(InboxItem, discriminator="ChannelRoute"):
    """Global: which workspace and channel a Meta account id belongs to (one owner per account)."""

    platform = UnicodeAttribute()
    account_id = UnicodeAttribute()
    workspace_id = UnicodeAttribute()
    channel_id = UnicodeAttribute()

    @staticmethod
    def key(platform: str, account_id: str) -> tuple[str, str]:
        return f"ROUTE#{platform}#{account_id}", "ROUTE"
