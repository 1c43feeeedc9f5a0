"""The one seam between use cases and the outside world: Meta's Graph API, the token store, the event
publisher and the clock.

Use cases read them from ``ports()``; in production that is the real adapters (the Graph client in
``meta/graph.py``, ``core/secrets.py``, the outbox in ``events/outbox.py``, ``core/timeutil.utcnow``).
A test replaces any of them for a block with ``use_ports(graph=..., clock=...)``, so business rules
can be exercised without moto or the Graph stand-in. The override lives in a context variable: it
holds for the calling thread (and tasks it starts with its context), never for other threads.
The token store and the outbox are imported when first used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from inbox_crm.core.timeutil import utcnow
from inbox_crm.meta.graph import Graph

if TYPE_CHECKING:
    from pynamodb.transactions import TransactWrite

    from inbox_crm.events.outbox import DomainEvent


class Tokens(Protocol):
    """Where connected accounts' access tokens live. Tokens are never logged or returned."""

    def page_token(self, account_id: str) -> str | None: ...

    def store_page_token(self, account_id: str, token: str) -> None: ...

    def forget_page_token(self, account_id: str) -> None: ...

    def app_secrets(self) -> tuple[str, ...]: ...


class Publisher(Protocol):
    """Domain events out: staged in the change's transaction, or recorded on their own."""

    def stage(self, tx: TransactWrite, events: Iterable[DomainEvent]) -> None: ...

    def record(self, events: list[DomainEvent]) -> None: ...


class SecretsTokens:
    """The token store of ``core/secrets.py`` (Secrets Manager in AWS)."""

    def page_token(self, account_id: str) -> str | None:
        from inbox_crm.core.secrets import page_token

        return page_token(account_id)

    def store_page_token(self, account_id: str, token: str) -> None:
        from inbox_crm.core.secrets import store_page_token

        store_page_token(account_id, token)

    def forget_page_token(self, account_id: str) -> None:
        from inbox_crm.core.secrets import forget_page_token

        forget_page_token(account_id)

    def app_secrets(self) -> tuple[str, ...]:
        from inbox_crm.core.secrets import meta_app_secrets

        return meta_app_secrets()


class OutboxPublisher:
    """The transactional outbox of ``events/outbox.py`` (relayed to EventBridge by the table's stream)."""

    def stage(self, tx: TransactWrite, events: Iterable[DomainEvent]) -> None:
        from inbox_crm.events.outbox import stage

        stage(tx, events)

    def record(self, events: list[DomainEvent]) -> None:
        from inbox_crm.events.outbox import record

        record(events)


def graph_client() -> Graph:
    """The container's Graph client for the current settings (its connection to Meta is reused)."""
    from inbox_crm.meta.graph import GraphClient

    return GraphClient.shared()


__all__ = ["Graph", "OutboxPublisher", "Ports", "Publisher", "SecretsTokens", "Tokens", "ports", "use_ports"]


@dataclass(frozen=True)
class Ports:
    graph: Callable[[], Graph] = graph_client  # a factory: the client follows the current settings
    tokens: Tokens = field(default_factory=SecretsTokens)
    events: Publisher = field(default_factory=OutboxPublisher)
    clock: Callable[[], datetime] = utcnow


_DEFAULT = Ports()
_CURRENT: ContextVar[Ports | None] = ContextVar("inbox_crm_ports", default=None)


def ports() -> Ports:
    """The ports in force: the real adapters unless a caller is inside ``use_ports``."""
    return _CURRENT.get() or _DEFAULT


@contextmanager
def use_ports(**overrides: Any) -> Iterator[Ports]:
    """Replace some ports (by field name) for the duration of the block; the others stay as they are."""
    token = _CURRENT.set(replace(ports(), **overrides))
    try:
        yield ports()
    finally:
        _CURRENT.reset(token)
