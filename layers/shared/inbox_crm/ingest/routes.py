"""GET /v1/webhooks/unrouted: deliveries for this workspace's accounts that were acknowledged but not
used (unknown event kinds, account errors…). Deliveries for accounts no workspace connected are for
operators only and never listed here (ingest/unrouted.py)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from inbox_crm.http.errors_doc import documented
from inbox_crm.ingest.schemas import UnroutedOut, UnroutedPage
from inbox_crm.ingest.unrouted import list_unrouted
from inbox_crm.workspaces.principal import principal_of

router = Router()


@router.get(
    "/v1/webhooks/unrouted",
    summary="Signed deliveries for this workspace's accounts that we could not use (30 days, no content)",
    tags=["webhooks"],
    responses=documented(200, UnroutedPage, "A page, newest first", 400, 401, 403, 422),
)
def unrouted(
    limit: Annotated[int, Query(ge=1, le=100)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> UnroutedPage:
    principal = principal_of(router)
    principal.require("webhooks.unrouted.read")
    page = list_unrouted(principal.workspace_id, limit, cursor)
    return UnroutedPage(
        items=[
            UnroutedOut(
                id=item.delivery_id,
                reason=item.reason,
                object_type=item.object_type,
                platform=item.platform,
                account_id=item.account_id,
                field=item.field,
                received_at=item.received_at,
            )
            for item in page.items
        ],
        next_cursor=page.next_cursor,
    )
