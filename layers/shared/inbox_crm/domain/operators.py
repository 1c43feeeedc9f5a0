"""What operators need to see: validly signed deliveries that no workspace could take."""

from __future__ import annotations

from inbox_crm.domain.conversations import Page
from inbox_crm.store.cursor import decode_cursor, encode_cursor
from inbox_crm.store.models import UnroutedDelivery

UNROUTED_PARTITION = "UNROUTED"


def list_unrouted(limit: int, cursor: str | None) -> Page:
    """Newest first. Only routing facts are kept (platform, account id, field, reason), no content."""
    start_key = decode_cursor(cursor, partition_attribute="pk", partition_value=UNROUTED_PARTITION)
    results = UnroutedDelivery.query(
        UNROUTED_PARTITION, scan_index_forward=False, limit=limit, last_evaluated_key=start_key
    )
    items = list(results)
    return Page(items=items, next_cursor=encode_cursor(results.last_evaluated_key))
