"""Validly signed deliveries we acknowledged but could not use: kept 30 days, routing facts only.

A delivery for an account a workspace has connected is kept in that workspace's partition and listed
to its managers (``GET /v1/webhooks/unrouted``); one for an account nobody connected is kept for
operators only (partition ``UNROUTED``; locally ``/_local/status``), never shown to any workspace:
account ids and traffic of other tenants, or of nobody's, are not a workspace's business.
"""

from __future__ import annotations

from inbox_crm.inbox.conversations import Page
from inbox_crm.store.cursor import decode_cursor, encode_cursor
from inbox_crm.store.models import UnroutedDelivery, ws_pk

UNROUTED_PARTITION = "UNROUTED"


def unrouted_partition(workspace_id: str | None) -> str:
    """The workspace's own partition, or the operators' one when no workspace owns the account."""
    return f"{ws_pk(workspace_id)}#{UNROUTED_PARTITION}" if workspace_id else UNROUTED_PARTITION


def list_unrouted(workspace_id: str | None, limit: int, cursor: str | None) -> Page:
    """Newest first: one workspace's deliveries, or (``None``) the operators' unknown accounts."""
    partition = unrouted_partition(workspace_id)
    start_key = decode_cursor(cursor, partition_attribute="pk", partition_value=partition)
    results = UnroutedDelivery.query(
        partition, scan_index_forward=False, limit=limit, last_evaluated_key=start_key
    )
    items = list(results)
    return Page(items=items, next_cursor=encode_cursor(results.last_evaluated_key))
