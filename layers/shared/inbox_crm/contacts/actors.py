"""Who changes contacts: a person, the system or a flow."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from inbox_crm.core.observability import logger

if TYPE_CHECKING:
    from inbox_crm.workspaces.principal import Principal


@dataclass(frozen=True)
class Actor:
    """Who is changing contacts: a user id (or "system" / a flow id) and the request's correlation id."""

    user_id: str
    correlation_id: str | None = None
    caused_by_flow: str | None = None  # a flow's action: its events carry it (the flows' loop guard)


def actor_of(principal: Principal) -> Actor:
    """The caller of an API request, with the request's correlation id."""
    return Actor(principal.user_id, logger.get_correlation_id())
