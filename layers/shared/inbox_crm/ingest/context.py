"""What every handler of an inbound unit shares: its context, its result, the domain events it
commits, and the stored message a unit names by Meta's id."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from inbox_crm.events.outbox import DomainEvent
from inbox_crm.inbox.messages import message_id_for
from inbox_crm.meta.units import InboundUnit
from inbox_crm.store.maps import compact
from inbox_crm.store.models import Conversation, Message, MessagePointer
from inbox_crm.workspaces.routing import Route


@dataclass
class IngestResult:
    outcome: str  # stored | duplicate | updated | ignored | unrouted | recorded
    events: list[DomainEvent] = field(default_factory=list)  # committed to the outbox with the change


@dataclass
class Context:
    unit: InboundUnit
    route: Route
    correlation_id: str | None

    @property
    def workspace_id(self) -> str:
        return self.route.workspace_id


def _pointer(workspace_id: str, message_id: str) -> MessagePointer | None:
    try:
        return MessagePointer.get(*MessagePointer.key(workspace_id, message_id), consistent_read=True)
    except MessagePointer.DoesNotExist:
        return None


def _message_at(workspace_id: str, pointer: MessagePointer) -> Message | None:
    if not pointer.conversation_id or not pointer.message_sk:
        return None
    try:
        return Message.get(
            Conversation.pk_for(workspace_id, pointer.conversation_id),
            pointer.message_sk,
            consistent_read=True,
        )
    except Message.DoesNotExist:
        return None


def target(context: Context, platform_message_id: str) -> tuple[MessagePointer | None, Message | None]:
    unit = context.unit
    message_id = message_id_for(unit.platform, unit.account_id, platform_message_id)
    pointer = _pointer(context.workspace_id, message_id)
    if pointer is None or pointer.state != "stored":
        return pointer, None
    return pointer, _message_at(context.workspace_id, pointer)


def set_or_remove(attribute: Any, value: Any) -> Any:
    return attribute.remove() if value is None else attribute.set(value)


def new_event(context: Context, name: str, cause: str, data: dict[str, Any]) -> DomainEvent:
    return DomainEvent(
        name=name,
        workspace_id=context.workspace_id,
        data=compact(data),
        cause=cause,
        correlation_id=context.correlation_id,
    )
