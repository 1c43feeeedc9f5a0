"""What a run reads: its conversation, identity, contact and workspace, loaded at most once and only
when needed, and the conditions (filters, decisions, business hours) evaluated against them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from typing import Any
from zoneinfo import ZoneInfo

from inbox_crm.contacts.values import fold
from inbox_crm.flows import model
from inbox_crm.store.models import Contact, Conversation, FlowRun, Identity, Workspace

CHANNEL_NAMES = {"messenger": "Facebook Messenger", "instagram": "Instagram", "whatsapp": "WhatsApp"}


@dataclass
class RunContext:
    """What conditions, variables and actions read, loaded at most once and only when needed."""

    workspace_id: str
    conversation_id: str | None
    contact_id: str | None
    data: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def conversation(self) -> Conversation | None:
        if not self.conversation_id:
            return None
        try:
            return Conversation.get(
                *Conversation.key(self.workspace_id, self.conversation_id), consistent_read=True
            )
        except Conversation.DoesNotExist:
            return None

    @cached_property
    def identity(self) -> Identity | None:
        conversation = self.conversation
        if conversation is None:
            return None
        try:
            return Identity.get(
                *Identity.key(self.workspace_id, conversation.identity_id), consistent_read=True
            )
        except Identity.DoesNotExist:
            return None

    @cached_property
    def contact(self) -> Contact | None:
        contact_id = self.contact_id
        if contact_id is None and self.conversation_id:
            identity = self.identity
            contact_id = (identity.contact_id if identity else None) or (
                self.conversation.contact_id if self.conversation else None
            )
        if not contact_id:
            return None
        try:
            contact = Contact.get(*Contact.key(self.workspace_id, contact_id), consistent_read=True)
        except Contact.DoesNotExist:
            return None
        return None if contact.deleted else contact

    @cached_property
    def workspace(self) -> Workspace | None:
        try:
            return Workspace.get(*Workspace.key(self.workspace_id))
        except Workspace.DoesNotExist:
            return None

    def forget(self) -> None:
        for name in ("conversation", "identity", "contact"):
            self.__dict__.pop(name, None)

    def blocked(self) -> bool:
        if self.conversation_id and self.identity is not None and self.identity.blocked:
            return True
        contact = self.contact
        return bool(contact and contact.blocked)

    def value(self, name: str) -> Any:
        contact, conversation, identity = self.contact, None, None
        if name.startswith("conversation."):
            conversation = self.conversation
        if name.startswith("contact.") and name not in ("contact.id", "contact.tags"):
            identity = self.identity if self.conversation_id else None
        match name:
            case "contact.id":
                return contact.contact_id if contact else None
            case "contact.first_name":
                return (contact.first_name if contact else None) or (
                    identity.first_name if identity else None
                )
            case "contact.last_name":
                return (contact.last_name if contact else None) or (identity.last_name if identity else None)
            case "contact.name":
                first = self.value("contact.first_name")
                last = self.value("contact.last_name")
                joined = " ".join(part for part in (first, last) if part)
                display = (contact.display_name if contact else None) or (
                    identity.display_name if identity else None
                )
                return joined or display
            case "contact.email":
                return contact.emails[0] if contact and contact.emails else None
            case "contact.phone":
                return (contact.primary_phone if contact else None) or (identity.phone if identity else None)
            case "contact.company":
                return contact.company if contact else None
            case "contact.tags":
                return list(contact.tags or []) if contact else []
            case "conversation.channel":
                return conversation.platform if conversation else self.data.get("channel")
            case "conversation.status":
                return conversation.status if conversation else None
            case "conversation.assignee_id":
                return conversation.assignee_id if conversation else None
            case "conversation.kind":
                return conversation.kind if conversation else None
            case "conversation.display_name":
                return conversation.display_name if conversation else None
            case "conversation.handle":
                return conversation.handle if conversation else None
            case "message.text":
                return self.data.get("text")
        return None

    def variables(self) -> dict[str, str | None]:
        values = {name: self.value(name) for name in model.VARIABLES}
        channel = values.get("conversation.channel")
        values["conversation.channel"] = CHANNEL_NAMES.get(str(channel), channel) if channel else None
        return {name: (str(value) if value is not None else None) for name, value in values.items()}

    def timezone(self) -> str:
        workspace = self.workspace
        return workspace.timezone if workspace and workspace.timezone else "America/Mexico_City"


def in_hours(schedule: dict[str, Any], timezone: str, now: datetime) -> bool:
    local = now.astimezone(ZoneInfo(schedule.get("timezone") or timezone))
    if local.weekday() not in schedule.get("days", [0, 1, 2, 3, 4]):
        return False
    current = local.strftime("%H:%M")
    start, end = schedule.get("start", "09:00"), schedule.get("end", "18:00")
    if start <= end:
        return start <= current < end
    return current >= start or current < end  # overnight hours, e.g. 20:00-02:00


def _condition_holds(condition: dict[str, Any], context: RunContext, now: datetime) -> bool:
    op = condition["op"]
    if op in ("in_hours", "out_of_hours"):
        inside = in_hours(condition.get("schedule") or {}, context.timezone(), now)
        return inside if op == "in_hours" else not inside
    value = context.value(condition["field"])
    wanted = condition.get("value")
    if op == "is_set":
        return bool(value)
    if op == "is_not_set":
        return not value
    if op in ("has_tag", "not_has_tag"):
        from inbox_crm.contacts.tags import tag_id_for

        tags = set(value or [])
        held = wanted in tags or tag_id_for(context.workspace_id, str(wanted)) in tags
        return held if op == "has_tag" else not held
    text = fold(str(value)) if value is not None else ""
    target = fold(str(wanted or ""))
    if op == "equals":
        return text == target
    if op == "not_equals":
        return text != target
    if op == "contains":
        return bool(target) and target in text
    return False


def conditions_hold(conditions: list[dict[str, Any]], match: str, context: RunContext, now: datetime) -> bool:
    if not conditions:
        return True
    results = (_condition_holds(condition, context, now) for condition in conditions)
    return all(results) if match == "all" else any(results)


def trigger_data(run: FlowRun) -> dict[str, Any]:
    """The trigger event's small fields, as the run recorded them when it started."""
    return dict(run.trigger.as_dict()) if run.trigger else {}
