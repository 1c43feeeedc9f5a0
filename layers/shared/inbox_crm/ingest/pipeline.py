"""Ingestion: apply one inbound unit to identities, conversations and messages, exactly once.

Cost per unit (DynamoDB requests): one consistent BatchGetItem of the message pointer, the sender's
identity and conversation (their keys are derived from Meta's ids, so nothing needs looking up
first), then one TransactWriteItems that stores the message, its pointer (condition: absent), the
conversation's counters and the unit's domain events (outbox items, inbox_crm/events/outbox.py). A
duplicate stops after the BatchGetItem (unless it finds a WhatsApp auto-link a crash left unfinished,
which it finishes); a concurrent duplicate loses the pointer condition inside the transaction. Only
user-originated units move the 24-hour clock.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from inbox_crm.core.observability import logger
from inbox_crm.ingest.comments import apply_comment
from inbox_crm.ingest.context import Context, IngestResult
from inbox_crm.ingest.identities import apply_number_change
from inbox_crm.ingest.messages import store_message_like
from inbox_crm.ingest.statuses import apply_status, apply_watermark
from inbox_crm.ingest.unrouted import record_for_operators
from inbox_crm.ingest.updates import apply_delete, apply_edit, apply_reaction
from inbox_crm.meta.units import InboundUnit, UnitKind, fit_unit
from inbox_crm.store.transactions import TransactionConflict
from inbox_crm.workspaces.channels import record_webhook_seen
from inbox_crm.workspaces.routing import resolve_route

_MAX_ATTEMPTS = 12


def ingest(unit: InboundUnit, correlation_id: str | None = None) -> IngestResult:
    unit = fit_unit(unit)  # the queue path already cut it; anything else too large is cut here
    route = resolve_route(unit.platform, unit.account_id) if unit.platform and unit.account_id else None
    if unit.kind in (UnitKind.UNUSABLE, UnitKind.ACCOUNT_ERROR):
        return record_for_operators(unit, unit.reason or unit.kind.value, route)
    if route is None:
        return record_for_operators(unit, "unknown_account", None)
    record_webhook_seen(route.workspace_id, route.channel_id)
    if not unit.customer_id:
        return record_for_operators(unit, "no_customer_id", route)
    handler = _HANDLERS.get(unit.kind)
    if handler is None:
        return record_for_operators(unit, "unhandled_kind", route)
    context = Context(unit=unit, route=route, correlation_id=correlation_id)
    for attempt in range(_MAX_ATTEMPTS):
        try:
            return handler(context)
        except TransactionConflict as conflict:
            # Someone changed the identity or conversation between our read and write: read again.
            logger.info(
                "ingest write conflict, retrying", extra={"attempt": attempt + 1, "failed": conflict.failed}
            )
            time.sleep(random.uniform(0, 0.01 * (attempt + 1)))  # noqa: S311 - jitter, not security
    raise RuntimeError("ingest kept conflicting; the unit will be retried by the queue")


def _store_inbound(kind: str) -> Callable[[Context], IngestResult]:
    return lambda context: store_message_like(context, kind=kind)


_HANDLERS: dict[UnitKind, Callable[[Context], IngestResult]] = {
    UnitKind.MESSAGE: _store_inbound("message"),
    UnitKind.POSTBACK: _store_inbound("postback"),
    UnitKind.REFERRAL: _store_inbound("referral"),
    UnitKind.ECHO: _store_inbound("message"),
    UnitKind.COMMENT: apply_comment,
    UnitKind.REACTION: apply_reaction,
    UnitKind.EDIT: apply_edit,
    UnitKind.DELETE: apply_delete,
    UnitKind.DELIVERY: apply_watermark,
    UnitKind.READ: apply_watermark,
    UnitKind.STATUS: apply_status,
    UnitKind.NUMBER_CHANGE: apply_number_change,
}
