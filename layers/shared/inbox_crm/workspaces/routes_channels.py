"""Channel accounts: GET/POST /v1/channels, DELETE /v1/channels/{id}."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from inbox_crm.core.timeutil import utcnow
from inbox_crm.http.errors_doc import documented
from inbox_crm.store.models import ChannelAccount
from inbox_crm.workspaces import channels
from inbox_crm.workspaces.principal import principal_of
from inbox_crm.workspaces.schemas import ChannelIn, ChannelList, ChannelOut

router = Router()


def channel_out(channel: ChannelAccount) -> ChannelOut:
    return ChannelOut(
        id=channel.channel_id,
        platform=channel.platform,  # type: ignore[arg-type]
        account_id=channel.account_id,
        name=channel.name,
        status=channel.status,
        created_at=channel.created_at,
        last_webhook_at=channel.last_webhook_at,
        silent=channels.is_silent(channel, utcnow()),
    )


@router.get(
    "/v1/channels",
    summary="List channel accounts",
    tags=["channels"],
    responses=documented(200, ChannelList, "The active channel accounts", 401),
)
def list_channels() -> ChannelList:
    principal = principal_of(router)
    principal.require("channels.read")
    return ChannelList(
        items=[channel_out(channel) for channel in channels.list_channels(principal.workspace_id)]
    )


@router.post(
    "/v1/channels",
    summary="Connect a Page, Instagram account or WhatsApp number, proven by a token Meta confirms",
    description=(
        "403 channel_not_verified: Meta did not confirm the token can act for the account (the same "
        "answer whatever the account's state). 409 channel_already_connected: here already; "
        "409 channel_unavailable: proven, but it cannot join this workspace. 503: Meta could not be asked."
    ),
    tags=["channels"],
    status_code=201,
    responses=documented(201, ChannelOut, "Connected", 400, 401, 403, 409, 415, 422, 503),
)
def create_channel(body: ChannelIn) -> ChannelOut:
    principal = principal_of(router)
    principal.require("channels.manage")
    channel = channels.connect_channel(
        principal.workspace_id,
        body.platform,
        body.account_id,
        body.name,
        body.access_token.get_secret_value(),
        created_by=principal.user_id,
    )
    return channel_out(channel)


@router.delete(
    "/v1/channels/<channel_id>",
    summary="Remove a channel account (its conversations stay)",
    tags=["channels"],
    status_code=204,
    responses=documented(204, None, "Removed; its conversations stay", 401, 403, 404),
)
def delete_channel(channel_id: str) -> Response[None]:
    principal = principal_of(router)
    principal.require("channels.manage")
    channels.remove_channel(principal.workspace_id, channel_id, removed_by=principal.user_id)
    return Response(status_code=204)
