"""Which workspace and channel a Meta account id belongs to, cached per container."""

from __future__ import annotations

import time
from dataclasses import dataclass

from inbox_crm.store.models import ChannelRoute

_POSITIVE_TTL_SECONDS = 60.0
# Short, so a channel registered a moment ago starts receiving almost at once.
_NEGATIVE_TTL_SECONDS = 5.0


@dataclass(frozen=True)
class Route:
    workspace_id: str
    channel_id: str
    platform: str
    account_id: str


_cache: dict[tuple[str, str], tuple[float, Route | None]] = {}


def resolve_route(platform: str, account_id: str) -> Route | None:
    key = (platform, account_id)
    now = time.monotonic()
    cached = _cache.get(key)
    if cached and cached[0] > now:
        return cached[1]
    try:
        item = ChannelRoute.get(*ChannelRoute.key(platform, account_id))
        route: Route | None = Route(item.workspace_id, item.channel_id, platform, account_id)
    except ChannelRoute.DoesNotExist:
        route = None
    _cache[key] = (now + (_POSITIVE_TTL_SECONDS if route else _NEGATIVE_TTL_SECONDS), route)
    return route


def forget_routes() -> None:
    _cache.clear()
