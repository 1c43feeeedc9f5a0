"""The transactional outbox of domain events and the operator log of unroutable deliveries."""

from __future__ import annotations

from pynamodb.attributes import (
    UnicodeAttribute,
    UTCDateTimeAttribute,
)

from inbox_crm.store.models.base import InboxItem, ws_pk


class OutboxEvent(InboxItem, discriminator="OutboxEvent"):
    """A domain event, written in the same transaction as the change that implies it (events/outbox.py).

    The table's stream carries new outbox items to the relay (functions/outbox_relay), which puts them
    on the bus. The key is the event id, so a retried write rewrites the same item; one partition per
    event spreads a burst over the table instead of heating one workspace partition. TTL: two days.
    """

    workspace_id = UnicodeAttribute()
    event_id = UnicodeAttribute()
    detail_type = UnicodeAttribute()
    detail = UnicodeAttribute()  # JSON, exactly what the bus receives

    @staticmethod
    def key(workspace_id: str, event_id: str) -> tuple[str, str]:
        return f"{ws_pk(workspace_id)}#OUTBOX#{event_id}", "OUTBOX"


class UnroutedDelivery(InboxItem, discriminator="UnroutedDelivery"):
    """A validly signed delivery we could not use: kept 30 days for operators, without content."""

    delivery_id = UnicodeAttribute()
    reason = UnicodeAttribute()
    object_type = UnicodeAttribute(null=True)
    platform = UnicodeAttribute(null=True)
    account_id = UnicodeAttribute(null=True)
    field = UnicodeAttribute(null=True)
    received_at = UTCDateTimeAttribute()
