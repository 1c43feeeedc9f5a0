"""Channel accounts: the Pages, Instagram accounts and WhatsApp numbers a workspace receives on.

Each Meta account id routes to exactly one workspace through a global ChannelRoute item written in
the same transaction as the channel, so two workspaces can never claim the same account. An account
joins a workspace only with a token Meta confirms can act for it (``connect_channel``); a refusal is
the same whatever the account's state, so it tells nobody whether or where the account is connected.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta

from pynamodb.exceptions import UpdateError

from inbox_crm.core.errors import (
    ChannelAlreadyConnected,
    ChannelNotVerified,
    ChannelUnavailable,
    Conflict,
    NotFound,
    Unavailable,
)
from inbox_crm.core.ids import new_id
from inbox_crm.core.observability import logger
from inbox_crm.core.timeutil import iso, to_millis, utcnow
from inbox_crm.events.outbox import DomainEvent, stage
from inbox_crm.meta import ownership
from inbox_crm.ports import Graph, ports
from inbox_crm.store.models import ChannelAccount, ChannelRoute, ws_pk
from inbox_crm.store.transactions import TransactionConflict, condition_failed, transaction

# Meta unsubscribes an app from a Page / IG account after an hour of failed deliveries.
SILENCE_HORIZON = timedelta(hours=1)


def list_channels(workspace_id: str) -> list[ChannelAccount]:
    channels = ChannelAccount.query(
        ws_pk(workspace_id),
        ChannelAccount.sk.startswith("CHANNEL#"),
        filter_condition=ChannelAccount.status == "active",
    )
    return sorted(channels, key=lambda channel: channel.channel_id)


def get_channel(workspace_id: str, channel_id: str) -> ChannelAccount:
    try:
        channel = ChannelAccount.get(*ChannelAccount.key(workspace_id, channel_id), consistent_read=True)
    except ChannelAccount.DoesNotExist:
        raise NotFound("No such channel") from None
    if channel.status != "active":
        raise NotFound("No such channel")
    return channel


def register_channel(
    workspace_id: str, platform: str, account_id: str, name: str, created_by: str
) -> ChannelAccount:
    channel_id = new_id("chn")
    now = utcnow()
    pk, sk = ChannelAccount.key(workspace_id, channel_id)
    channel = ChannelAccount(
        pk,
        sk,
        workspace_id=workspace_id,
        channel_id=channel_id,
        platform=platform,
        account_id=account_id,
        name=name,
        created_by=created_by,
        created_at=now,
    )
    route_pk, route_sk = ChannelRoute.key(platform, account_id)
    route = ChannelRoute(
        route_pk,
        route_sk,
        platform=platform,
        account_id=account_id,
        workspace_id=workspace_id,
        channel_id=channel_id,
        created_at=now,
    )
    try:
        with transaction() as tx:
            tx.save(route, condition=ChannelRoute.pk.does_not_exist())
            tx.save(channel, condition=ChannelAccount.pk.does_not_exist())
    except TransactionConflict:
        raise Conflict(
            "This account is already registered to a workspace",
            {"platform": platform, "account_id": account_id},
        ) from None
    return channel


def connect_channel(
    workspace_id: str,
    platform: str,
    account_id: str,
    name: str,
    access_token: str,
    created_by: str,
    graph: Graph | None = None,
) -> ChannelAccount:
    """Register the account after Meta confirms the token can act for it, and keep its token."""
    try:
        proof = ownership.prove(platform, account_id, access_token, graph or ports().graph())
    except ownership.NotProven:
        raise ChannelNotVerified(
            "Meta did not confirm that this token can act for this account", {"platform": platform}
        ) from None
    except ownership.MetaUnavailable:
        raise Unavailable("Meta could not be asked about this token; try again") from None
    try:
        channel = register_channel(workspace_id, platform, account_id, name, created_by)
    except Conflict:
        # Proven, yet routed already: here, or elsewhere — of which nothing is said.
        if any(c.platform == platform and c.account_id == account_id for c in list_channels(workspace_id)):
            raise ChannelAlreadyConnected("This account is already connected to this workspace") from None
        raise ChannelUnavailable("This account cannot be connected to this workspace") from None
    # Only the workspace that won the route writes the account's token.
    ports().tokens.store_page_token(account_id, proof.token)
    logger.info("channel connected", extra={"platform": platform, "channel_id": channel.channel_id})
    return channel


def remove_channel(workspace_id: str, channel_id: str, removed_by: str) -> ChannelAccount:
    """Stop routing the account here; the channel record and its conversations stay for audit."""
    channel = get_channel(workspace_id, channel_id)
    now = utcnow()
    route_pk, route_sk = ChannelRoute.key(channel.platform, channel.account_id)
    route = ChannelRoute(route_pk, route_sk)
    try:
        with transaction() as tx:
            tx.update(
                channel,
                actions=[
                    ChannelAccount.status.set("removed"),
                    ChannelAccount.removed_at.set(now),
                    ChannelAccount.removed_by.set(removed_by),
                ],
                condition=ChannelAccount.status == "active",
            )
            tx.delete(route, condition=ChannelRoute.channel_id == channel_id)
    except TransactionConflict:
        raise NotFound("No such channel") from None
    channel.status = "removed"
    channel.removed_at = now
    ports().tokens.forget_page_token(channel.account_id)  # a removed channel's token is not kept
    return channel


def is_silent(channel: ChannelAccount, now: datetime | None = None) -> bool:
    """No webhook for longer than Meta's unsubscribe horizon (never-seen channels are not silent)."""
    if channel.last_webhook_at is None:
        return False
    return (now or utcnow()) - channel.last_webhook_at > SILENCE_HORIZON


# ------------------------------------------------------------------ watchdog

WATCH_SHARD = "WATCH#0"
_TOUCH_INTERVAL_SECONDS = 60.0
_touched: dict[str, float] = {}


def record_webhook_seen(workspace_id: str, channel_id: str, now: datetime | None = None) -> None:
    """Remember when the account last delivered, at most one write a minute per container; the
    channel becomes due on gsi2 at the silence horizon, where the scheduler's watchdog finds it."""
    clock = time.monotonic()
    if clock - _touched.get(channel_id, -_TOUCH_INTERVAL_SECONDS) < _TOUCH_INTERVAL_SECONDS:
        return
    _touched[channel_id] = clock
    now = now or utcnow()
    due = now + SILENCE_HORIZON
    channel = ChannelAccount(*ChannelAccount.key(workspace_id, channel_id))
    try:
        channel.update(
            actions=[
                ChannelAccount.last_webhook_at.set(now),
                ChannelAccount.gsi2pk.set(WATCH_SHARD),
                ChannelAccount.gsi2sk.set(f"{to_millis(due):013d}#{workspace_id}#{channel_id}"),
            ],
            condition=ChannelAccount.status == "active",
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise


def silent_channels(now: datetime | None = None, limit: int = 100) -> list[ChannelAccount]:
    """Channels whose last webhook is older than the horizon and not yet reported (one Query)."""
    upper = f"{to_millis(now or utcnow()):013d}#~"
    return [
        item
        for item in ChannelAccount.due_index.query(WATCH_SHARD, ChannelAccount.gsi2sk <= upper, limit=limit)
        if isinstance(item, ChannelAccount)
    ]


def mark_silence_reported(channel: ChannelAccount, now: datetime) -> bool:
    """Take the channel off the watch list once, committing ChannelWentSilent with it (the outbox);
    a webhook arriving meanwhile wins."""
    event = DomainEvent(
        name="ChannelWentSilent",
        workspace_id=channel.workspace_id,
        cause=f"{channel.channel_id}:{to_millis(channel.last_webhook_at or now)}",
        data={
            "channel_id": channel.channel_id,
            "channel": channel.platform,
            "account_id": channel.account_id,
            "last_webhook_at": iso(channel.last_webhook_at),
        },
    )
    try:
        with transaction() as tx:
            tx.update(
                channel,
                actions=[ChannelAccount.gsi2pk.remove(), ChannelAccount.gsi2sk.remove()],
                condition=ChannelAccount.gsi2sk == channel.gsi2sk,
            )
            stage(tx, [event])
    except TransactionConflict:
        return False
    return True


def forget_touches() -> None:
    _touched.clear()
