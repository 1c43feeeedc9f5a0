"""Validly signed deliveries we acknowledged but could not use: kept 30 days, routing facts only.

A delivery for an account a workspace has connected is kept in that workspace's partition and listed
to its managers (``GET /v1/webhooks/unrouted``); one for an account nobody connected is kept for
operators only (partition ``UNROUTED``; locally ``/_local/status``), never shown to any workspace:
account ids and traffic of other tenants, or of nobody's, are not a workspace's business.
"""

from __future__ import annotations

from datetime import timedelta

from inbox_crm.core.ids import stable_id
from inbox_crm.core.observability import logger
from inbox_crm.core.timeutil import to_millis, utcnow
from inbox_crm.inbox.conversations import Page
from inbox_crm.ingest.context import IngestResult
from inbox_crm.meta.units import InboundUnit
from inbox_crm.store.cursor import decode_cursor, encode_cursor
from inbox_crm.store.models import UnroutedDelivery, ws_pk
from inbox_crm.store.transactions import TransactionConflict, transaction
from inbox_crm.workspaces.routing import Route

UNROUTED_PARTITION = "UNROUTED"
_UNROUTED_RETENTION = timedelta(days=30)


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


def record_for_operators(unit: InboundUnit, reason: str, route: Route | None) -> IngestResult:
    """Keep routing facts (never content) of a delivery we cannot use, in the workspace of its account
    (operators' only when no workspace has it); a redelivery adds nothing."""
    now = utcnow()
    delivery_id = stable_id("unr", unit.dedupe_key)
    item = UnroutedDelivery(
        unrouted_partition(route.workspace_id if route else None),
        f"{to_millis(now):013d}#{delivery_id}",
        delivery_id=delivery_id,
        reason=reason,
        object_type=unit.object_type,
        platform=unit.platform,
        account_id=unit.account_id or None,
        field=unit.field or unit.kind.value,
        received_at=now,
        created_at=now,
        expires_at=_UNROUTED_RETENTION,
    )
    # Listed by arrival time; a marker keyed by the delivery id makes a redelivery add nothing.
    marker = UnroutedDelivery(
        f"{UNROUTED_PARTITION}#SEEN#{delivery_id}",
        "SEEN",
        delivery_id=delivery_id,
        reason=reason,
        received_at=now,
        expires_at=_UNROUTED_RETENTION,
    )
    try:
        with transaction() as tx:
            tx.save(marker, condition=UnroutedDelivery.pk.does_not_exist())
            tx.save(item)
    except TransactionConflict:
        return IngestResult("duplicate")
    logger.info("webhook unit recorded for operators", extra={"reason": reason, "platform": unit.platform})
    return IngestResult("unrouted" if reason == "unknown_account" else "recorded")
