"""Broadcasts: a message or template to every contact with a tag, with per-recipient progress."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from inbox_crm.http.errors_doc import documented
from inbox_crm.meta.send import OutboundContent
from inbox_crm.outbound import broadcasts
from inbox_crm.outbound.schemas import (
    BroadcastIn,
    BroadcastList,
    BroadcastOut,
    ProgressOut,
    RecipientList,
    RecipientOut,
)
from inbox_crm.store.models import Broadcast
from inbox_crm.workspaces.principal import principal_of

router = Router()


def broadcast_out(broadcast: Broadcast) -> BroadcastOut:
    return BroadcastOut(
        id=broadcast.broadcast_id,
        name=broadcast.name,
        tag_id=broadcast.tag_id,
        channel=broadcast.channel,
        status=broadcast.status,  # type: ignore[arg-type]
        send_at=broadcast.send_at,
        started_at=broadcast.started_at,
        finished_at=broadcast.finished_at,
        created_by=broadcast.created_by,
        progress=ProgressOut(
            sent=int(broadcast.sent or 0),
            failed=int(broadcast.failed or 0),
            skipped=int(broadcast.skipped or 0),
        ),
    )


@router.post(
    "/v1/broadcasts",
    summary="Broadcast a message or template to every contact with a tag (sent by the scheduler)",
    tags=["broadcasts"],
    status_code=201,
    responses=documented(201, BroadcastOut, "Scheduled", 400, 401, 403, 404, 422),
)
def create(body: BroadcastIn) -> BroadcastOut:
    principal = principal_of(router)
    principal.require("broadcasts.manage")
    spec = broadcasts.BroadcastSpec(
        name=body.name,
        tag_id=body.tag_id,
        channel=body.channel,
        content=OutboundContent(
            text=body.text,
            template=body.template.model_dump(exclude_none=True) if body.template else None,
            attachments=[a.model_dump(exclude_none=True) for a in body.attachments],
            buttons=[b.model_dump(exclude_none=True) for b in body.buttons],
        ),
        send_at=body.send_at,
    )
    return broadcast_out(broadcasts.create_broadcast(principal.workspace_id, spec, principal.user_id))


@router.get(
    "/v1/broadcasts",
    summary="Broadcasts, newest first",
    tags=["broadcasts"],
    responses=documented(200, BroadcastList, "The workspace's broadcasts", 401),
)
def list_all() -> BroadcastList:
    principal = principal_of(router)
    principal.require("broadcasts.read")
    return BroadcastList(items=[broadcast_out(b) for b in broadcasts.list_broadcasts(principal.workspace_id)])


@router.get(
    "/v1/broadcasts/<broadcast_id>",
    summary="A broadcast and its progress",
    tags=["broadcasts"],
    responses=documented(200, BroadcastOut, "The broadcast", 401, 404),
)
def get_one(broadcast_id: str) -> BroadcastOut:
    principal = principal_of(router)
    principal.require("broadcasts.read")
    return broadcast_out(broadcasts.get_broadcast(principal.workspace_id, broadcast_id))


@router.get(
    "/v1/broadcasts/<broadcast_id>/recipients",
    summary="Per-recipient status of a broadcast",
    tags=["broadcasts"],
    responses=documented(200, RecipientList, "Recipients so far", 401, 404),
)
def list_recipients(broadcast_id: str) -> RecipientList:
    principal = principal_of(router)
    principal.require("broadcasts.read")
    items = broadcasts.recipients(principal.workspace_id, broadcast_id)
    return RecipientList(
        items=[
            RecipientOut(
                contact_id=item.contact_id,
                status=item.status,
                reason=item.reason,
                conversation_id=item.conversation_id,
                message_id=item.message_id,
            )
            for item in items
        ]
    )


@router.post(
    "/v1/broadcasts/<broadcast_id>/cancel",
    summary="Stop a broadcast that has not finished",
    tags=["broadcasts"],
    responses=documented(200, BroadcastOut, "Cancelled", 401, 403, 404, 409),
)
def cancel(broadcast_id: str) -> BroadcastOut:
    principal = principal_of(router)
    principal.require("broadcasts.manage")
    broadcasts.cancel_broadcast(principal.workspace_id, broadcast_id)
    return broadcast_out(broadcasts.get_broadcast(principal.workspace_id, broadcast_id))
