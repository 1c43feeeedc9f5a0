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
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from pynamodb.exceptions import UpdateError

from inbox_crm.core.ids import stable_id
from inbox_crm.core.observability import logger
from inbox_crm.core.timeutil import from_millis, to_millis, utcnow
from inbox_crm.events.outbox import DomainEvent, stage
from inbox_crm.inbox.index import index as _index
from inbox_crm.inbox.index import reindex_actions as _reindex_actions
from inbox_crm.inbox.messages import STATUS_RANK, message_id_for, preview_of
from inbox_crm.ingest.unrouted import UNROUTED_PARTITION, unrouted_partition
from inbox_crm.meta.units import InboundUnit, UnitKind, fit_unit
from inbox_crm.store.maps import compact
from inbox_crm.store.models import (
    Attachment,
    Conversation,
    Identity,
    IdentityConversation,
    InboxItem,
    Message,
    MessagePointer,
    UnroutedDelivery,
)
from inbox_crm.store.transactions import TransactionConflict, condition_failed, save_if_absent, transaction
from inbox_crm.workspaces.channels import record_webhook_seen
from inbox_crm.workspaces.routing import Route, resolve_route

_MAX_ATTEMPTS = 12
_UNROUTED_RETENTION = timedelta(days=30)


@dataclass
class IngestResult:
    outcome: str  # stored | duplicate | updated | ignored | unrouted | recorded
    events: list[DomainEvent] = field(default_factory=list)  # committed to the outbox with the change


@dataclass
class _Context:
    unit: InboundUnit
    route: Route
    correlation_id: str | None

    @property
    def workspace_id(self) -> str:
        return self.route.workspace_id


# ------------------------------------------------------------------ ids


def identity_id_for(platform: str, account_id: str, customer_id: str) -> str:
    return stable_id("idt", platform, account_id, customer_id)


def direct_conversation_id(identity_id: str) -> str:
    return stable_id("cnv", identity_id)


def comment_conversation_id(identity_id: str, post_id: str) -> str:
    return stable_id("cnv", identity_id, "post", post_id)


# ------------------------------------------------------------------ entry point


def ingest(unit: InboundUnit, correlation_id: str | None = None) -> IngestResult:
    unit = fit_unit(unit)  # the queue path already cut it; anything else too large is cut here
    route = resolve_route(unit.platform, unit.account_id) if unit.platform and unit.account_id else None
    if unit.kind in (UnitKind.UNUSABLE, UnitKind.ACCOUNT_ERROR):
        return _record_for_operators(unit, unit.reason or unit.kind.value, route)
    if route is None:
        return _record_for_operators(unit, "unknown_account", None)
    record_webhook_seen(route.workspace_id, route.channel_id)
    if not unit.customer_id:
        return _record_for_operators(unit, "no_customer_id", route)
    handler = _HANDLERS.get(unit.kind)
    if handler is None:
        return _record_for_operators(unit, "unhandled_kind", route)
    context = _Context(unit=unit, route=route, correlation_id=correlation_id)
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


def _record_for_operators(unit: InboundUnit, reason: str, route: Route | None) -> IngestResult:
    """Keep routing facts (never content) of a delivery we cannot use, in the workspace of its account
    (operators' only when no workspace has it); a redelivery adds nothing."""
    now = utcnow()
    delivery_id = stable_id("unr", unit.dedupe_key)
    item = UnroutedDelivery(
        unrouted_partition(route.workspace_id if route else None),
        f"{to_millis(now):013d}#{delivery_id}",
        delivery_id=delivery_id,
        reason=reason,
        object_type=unit.object_type,
        platform=unit.platform,
        account_id=unit.account_id or None,
        field=unit.field or unit.kind.value,
        received_at=now,
        created_at=now,
        expires_at=_UNROUTED_RETENTION,
    )
    # Listed by arrival time; a marker keyed by the delivery id makes a redelivery add nothing.
    marker = UnroutedDelivery(
        f"{UNROUTED_PARTITION}#SEEN#{delivery_id}",
        "SEEN",
        delivery_id=delivery_id,
        reason=reason,
        received_at=now,
        expires_at=_UNROUTED_RETENTION,
    )
    try:
        with transaction() as tx:
            tx.save(marker, condition=UnroutedDelivery.pk.does_not_exist())
            tx.save(item)
    except TransactionConflict:
        return IngestResult("duplicate")
    logger.info("webhook unit recorded for operators", extra={"reason": reason, "platform": unit.platform})
    return IngestResult("unrouted" if reason == "unknown_account" else "recorded")


# ------------------------------------------------------------------ reads


@dataclass
class _Snapshot:
    pointer: MessagePointer | None
    identity: Identity | None
    conversation: Conversation | None


def _read(workspace_id: str, message_id: str | None, identity_id: str, conversation_id: str) -> _Snapshot:
    keys = [Identity.key(workspace_id, identity_id), Conversation.key(workspace_id, conversation_id)]
    if message_id:
        keys.append(MessagePointer.key(workspace_id, message_id))
    found = {(item.pk, item.sk): item for item in InboxItem.batch_get(keys, consistent_read=True)}
    pointer = found.get(MessagePointer.key(workspace_id, message_id)) if message_id else None
    identity = found.get(Identity.key(workspace_id, identity_id))
    conversation = found.get(Conversation.key(workspace_id, conversation_id))
    return _Snapshot(
        pointer if isinstance(pointer, MessagePointer) else None,
        identity if isinstance(identity, Identity) else None,
        conversation if isinstance(conversation, Conversation) else None,
    )


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


# ------------------------------------------------------------------ building records


def _attachments(unit: InboundUnit) -> list[Attachment] | None:
    if not unit.attachments:
        return None
    return [Attachment(**compact(attachment.model_dump())) for attachment in unit.attachments]


def _message_data(unit: InboundUnit) -> dict[str, Any] | None:
    data = compact(
        {
            "quick_reply_payload": unit.quick_reply_payload,
            "postback": unit.postback,
            "referral": unit.referral,
            "interactive": unit.interactive,
            "reply_to_story": unit.reply_to_story,
            "forwarded": unit.forwarded or None,
            "unsupported": unit.unsupported or None,
            "errors": unit.errors,
            "comment": unit.comment.model_dump() if unit.comment else None,
            "echo_app_id": unit.echo_app_id,
            "echo_metadata": unit.echo_metadata,
        }
    )
    return data or None


def _new_message(
    context: _Context,
    conversation_id: str,
    message_id: str,
    *,
    direction: str,
    kind: str,
    origin: str,
    deleted: bool = False,
) -> Message:
    unit = context.unit
    sent_at_ms = unit.timestamp_ms
    text = unit.text
    if unit.postback and not text:
        text = unit.postback.get("title")
    message = Message(
        Conversation.pk_for(context.workspace_id, conversation_id),
        Message.sk_for(sent_at_ms, message_id),
        workspace_id=context.workspace_id,
        conversation_id=conversation_id,
        message_id=message_id,
        platform_message_id=unit.platform_message_id,
        direction=direction,
        kind=kind,
        origin=origin,
        sent_at=from_millis(sent_at_ms),
        text=None if deleted else text,
        attachments=None if deleted else _attachments(unit),
        data=_message_data(unit),
        reply_to=unit.reply_to_message_id,
        deleted=deleted,
        standby=unit.standby,
        truncated=unit.truncated or None,
        created_at=utcnow(),
    )
    if direction == "outbound":
        message.status = "sent"
        message.status_rank = STATUS_RANK["sent"]
    return message


def _new_identity(context: _Context, identity_id: str, conversation_id: str) -> Identity:
    unit = context.unit
    assert unit.customer_id is not None
    phone = f"+{unit.customer_id}" if unit.platform == "whatsapp" and unit.customer_id.isdigit() else None
    return Identity(
        *Identity.key(context.workspace_id, identity_id),
        workspace_id=context.workspace_id,
        identity_id=identity_id,
        channel_id=context.route.channel_id,
        platform=unit.platform,
        account_id=unit.account_id,
        external_id=unit.customer_id,
        bsuid=unit.customer_bsuid,
        username=unit.customer_username,
        phone=phone,
        display_name=unit.customer_name or unit.customer_username or phone,
        conversation_id=conversation_id,
        created_at=utcnow(),
    )


def _new_conversation(
    context: _Context, identity: Identity, conversation_id: str, *, kind: str, post_id: str | None
) -> Conversation:
    now = utcnow()
    conversation = Conversation(
        *Conversation.key(context.workspace_id, conversation_id),
        workspace_id=context.workspace_id,
        conversation_id=conversation_id,
        channel_id=identity.channel_id,
        platform=identity.platform,
        kind=kind,
        identity_id=identity.identity_id,
        contact_id=identity.contact_id,
        status="open",
        post_id=post_id,
        display_name=identity.display_name,
        handle=identity.username or identity.phone or identity.external_id,
        last_activity_at=from_millis(context.unit.timestamp_ms),
        hidden=identity.blocked,
        created_at=now,
    )
    _index(conversation)
    return conversation


def _link(workspace_id: str, identity_id: str, conversation_id: str, at_ms: int) -> IdentityConversation:
    return IdentityConversation(
        Identity.pk_for(workspace_id, identity_id),
        f"CONV#{at_ms:013d}#{conversation_id}",
        identity_id=identity_id,
        conversation_id=conversation_id,
        created_at=utcnow(),
    )


def _pointer_for(workspace_id: str, message: Message) -> MessagePointer:
    return MessagePointer(
        *MessagePointer.key(workspace_id, message.message_id),
        message_id=message.message_id,
        conversation_id=message.conversation_id,
        message_sk=message.sk,
        state="stored",
        created_at=utcnow(),
    )


def _conversation_update(
    conversation: Conversation, message: Message, *, counts_as_unread: bool, moves_window: bool
) -> tuple[list[Any], Any]:
    """Actions for a new message and the condition that what they replace is what we read.

    Older messages arriving late change no ordering field; counters commute and need no condition.
    """
    actions: list[Any] = []
    condition: Any = Conversation.pk.exists() & (Conversation.status == conversation.status)
    newest = conversation.last_message_at is None or message.sent_at >= conversation.last_message_at
    if newest:
        previous = conversation.last_message_at
        condition &= (
            Conversation.last_message_at.does_not_exist()
            if previous is None
            else Conversation.last_message_at == previous
        )
        conversation.last_message_at = message.sent_at
        conversation.last_preview = preview_of(message.text, message.attachments, message.kind)
        actions += [
            Conversation.last_message_at.set(message.sent_at),
            Conversation.last_preview.set(conversation.last_preview),
        ]
    if message.sent_at > conversation.last_activity_at:
        conversation.last_activity_at = message.sent_at
        actions.append(Conversation.last_activity_at.set(message.sent_at))
    if moves_window and (
        conversation.last_inbound_at is None or message.sent_at > conversation.last_inbound_at
    ):
        previous_inbound = conversation.last_inbound_at
        condition &= (
            Conversation.last_inbound_at.does_not_exist()
            if previous_inbound is None
            else Conversation.last_inbound_at == previous_inbound
        )
        conversation.last_inbound_at = message.sent_at
        actions.append(Conversation.last_inbound_at.set(message.sent_at))
    if counts_as_unread:
        actions.append(Conversation.unread_count.add(1))
    return actions, condition


# ------------------------------------------------------------------ inbound messages


def _store_message_like(context: _Context, *, kind: str) -> IngestResult:
    """Customer messages, postbacks, referrals, comments and echoes: one message in one conversation."""
    unit = context.unit
    assert unit.customer_id is not None
    workspace_id = context.workspace_id
    identity_id = identity_id_for(unit.platform, unit.account_id, unit.customer_id)
    is_comment = unit.comment is not None
    from_business = unit.kind == UnitKind.ECHO or bool(unit.comment and unit.comment.from_page)
    conversation_id = (
        comment_conversation_id(identity_id, unit.comment.post_id)
        if unit.comment is not None
        else direct_conversation_id(identity_id)
    )
    message_id = message_id_for(unit.platform, unit.account_id, unit.platform_message_id or unit.dedupe_key)
    snapshot = _read(workspace_id, message_id, identity_id, conversation_id)
    if snapshot.pointer is not None and snapshot.pointer.state == "stored":
        return IngestResult("duplicate", _finish_auto_link(context, snapshot.identity))
    identity = snapshot.identity
    if identity is not None and identity.conversation_id and not is_comment:
        conversation_id = identity.conversation_id  # a number change handed it over
        if conversation_id != direct_conversation_id(identity_id):
            snapshot.conversation = _get_conversation(workspace_id, conversation_id)
    echo_of_ours = (
        unit.kind == UnitKind.ECHO
        and snapshot.conversation is not None
        and _reconcile_echo(context, snapshot.conversation, message_id)
    )
    if echo_of_ours:
        return IngestResult("duplicate")
    deleted_early = snapshot.pointer is not None and snapshot.pointer.state == "deleted"
    direction = "outbound" if from_business else "inbound"
    origin = _origin(unit) if from_business else "customer"
    message = _new_message(
        context,
        conversation_id,
        message_id,
        direction=direction,
        kind=kind,
        origin=origin,
        deleted=deleted_early,
    )
    user_originated = unit.user_originated and not unit.standby
    moves_window = unit.user_originated  # standby messages are still the customer's
    new_identity = snapshot.identity is None
    if identity is None:
        identity = _new_identity(context, identity_id, direct_conversation_id(identity_id))
    link_to = None
    if new_identity and identity.platform == "whatsapp" and direction == "inbound":
        # Contacts (issue 4): a first message from a number that is a contact's phone links the sender
        # to that contact (the seeds' rule). Looked up before the write, so the events committed with
        # the message carry the contact, and a blocked contact's message stays silent.
        from inbox_crm.contacts.autolink import whatsapp_link_candidate

        link_to = whatsapp_link_candidate(identity)
        if link_to is not None:
            identity.auto_link_to = link_to.contact_id  # the intent, committed with the message
    events: list[DomainEvent] = []

    with transaction() as tx:
        conversation = snapshot.conversation
        if new_identity:
            tx.save(identity, condition=Identity.pk.does_not_exist())
        else:
            # A new conversation copies the identity's contact and block state: they must still hold
            # when it is written (a link or a block may be happening right now).
            guard = (
                (
                    Identity.contact_id.does_not_exist()
                    if identity.contact_id is None
                    else Identity.contact_id == identity.contact_id
                )
                & (Identity.blocked == bool(identity.blocked))
                if conversation is None
                else None
            )
            if unit.customer_name and not identity.display_name:
                tx.update(identity, actions=[Identity.display_name.set(unit.customer_name)], condition=guard)
            elif guard is not None:
                tx.condition_check(Identity, identity.pk, identity.sk, condition=guard)
        opened = False
        if conversation is None:
            conversation = _new_conversation(
                context,
                identity,
                conversation_id,
                kind="comment" if is_comment else "direct",
                post_id=unit.comment.post_id if unit.comment else None,
            )
            opened = direction == "inbound"
            _conversation_update(conversation, message, counts_as_unread=False, moves_window=moves_window)
            conversation.unread_count = 1 if direction == "inbound" else 0
            _index(conversation)
            tx.save(conversation, condition=Conversation.pk.does_not_exist())
            tx.save(_link(workspace_id, identity_id, conversation_id, unit.timestamp_ms))
        else:
            actions, condition = _conversation_update(
                conversation, message, counts_as_unread=direction == "inbound", moves_window=moves_window
            )
            if direction == "inbound" and conversation.status == "closed":
                conversation.status = "open"
                opened = True
                actions.append(Conversation.status.set("open"))
            actions += _reindex_actions(conversation)
            tx.update(conversation, actions=actions, condition=condition)
        tx.save(message, condition=Message.pk.does_not_exist())
        if snapshot.pointer is None:
            tx.save(_pointer_for(workspace_id, message), condition=MessagePointer.pk.does_not_exist())
        else:
            tx.update(
                snapshot.pointer,
                actions=[
                    MessagePointer.state.set("stored"),
                    MessagePointer.conversation_id.set(conversation_id),
                    MessagePointer.message_sk.set(message.sk),
                ],
                condition=MessagePointer.state == "deleted",
            )
        # The events are committed with the message (the outbox): a redelivery that finds the message
        # stored has nothing left to announce.
        if new_identity:
            events.append(_event(context, "IdentityCreated", identity.identity_id, _identity_data(identity)))
        blocked = link_to.blocked if link_to is not None else identity.blocked
        if user_originated and not blocked:
            data = _message_event_data(context, identity, conversation, message)
            if link_to is not None:
                data["contact_id"] = link_to.contact_id
            if opened and not is_comment:
                events.append(_event(context, "ConversationOpened", f"{conversation_id}:{message_id}", data))
            name = "CommentReceived" if is_comment else "MessageReceived"
            events.append(_event(context, name, message_id, data))
        stage(tx, events)

    if link_to is not None:
        from inbox_crm.contacts.autolink import auto_link_whatsapp

        linked = auto_link_whatsapp(identity, context.correlation_id, link_to)  # commits ContactAssociated
        events[1:1] = linked  # after IdentityCreated, in the order they happened
    return IngestResult("stored", events)


def _finish_auto_link(context: _Context, identity: Identity | None) -> list[DomainEvent]:
    """The link commits after the message: a function that died between the two left its intent on
    the identity, and the redelivery (a duplicate by then) finishes it. A duplicate without that
    intent costs nothing more than its BatchGetItem."""
    if identity is None or not identity.auto_link_to or identity.contact_id:
        return []
    from inbox_crm.contacts.autolink import auto_link_whatsapp

    return auto_link_whatsapp(identity, context.correlation_id)


_RECONCILE_WINDOW = 50  # our recent sends an echo may belong to


def _reconcile_echo(context: _Context, conversation: Conversation, pointer_message_id: str) -> bool:
    """An echo of a message we sent from the product is that message, not a new one.

    Messenger echoes carry the metadata we sent (our message id). Instagram echoes carry none, and
    may beat our send's own bookkeeping: they match a queued, sending or unknown message with the
    same text.
    """
    unit = context.unit
    ours = None
    for message in Message.query(
        conversation.pk, Message.sk.startswith("MSG#"), scan_index_forward=False, limit=_RECONCILE_WINDOW
    ):
        if not isinstance(message, Message) or message.direction != "outbound" or not message.sender_kind:
            continue
        if unit.echo_metadata and message.message_id == unit.echo_metadata:
            ours = message
            break
        unsettled = message.status in ("queued", "sending", "unknown")
        if not unit.echo_metadata and unsettled and message.text == unit.text:
            ours = message
            break
    if ours is None:
        return False
    pointer = MessagePointer(
        *MessagePointer.key(context.workspace_id, pointer_message_id),
        message_id=ours.message_id,
        conversation_id=ours.conversation_id,
        message_sk=ours.sk,
        state="stored",
        created_at=utcnow(),
    )
    save_if_absent(pointer)
    from inbox_crm.outbound import settle  # rare path: kept out of the cold start
    from inbox_crm.outbound.transitions import awaits_confirmation

    if awaits_confirmation(ours) and ours.post_started_at and unit.platform_message_id:
        # The echo proves Meta accepted a send whose answer we lost.
        settle.settle_seen(ours, unit.platform, unit.account_id, unit.platform_message_id)
    return True


def _origin(unit: InboundUnit) -> str:
    if unit.comment is not None:
        return "page"
    from inbox_crm.core.settings import get_settings

    our_app = get_settings().meta_app_id
    if unit.echo_app_id and our_app and unit.echo_app_id == our_app:
        return "app"
    if unit.echo_app_id is None and unit.platform == "instagram":
        return "business"  # Instagram echoes carry no app id: our sends reconcile by message id first
    return "meta_inbox"


def _get_conversation(workspace_id: str, conversation_id: str) -> Conversation | None:
    try:
        return Conversation.get(*Conversation.key(workspace_id, conversation_id), consistent_read=True)
    except Conversation.DoesNotExist:
        return None


# ------------------------------------------------------------------ updates to stored messages


def _target(context: _Context, platform_message_id: str) -> tuple[MessagePointer | None, Message | None]:
    unit = context.unit
    message_id = message_id_for(unit.platform, unit.account_id, platform_message_id)
    pointer = _pointer(context.workspace_id, message_id)
    if pointer is None or pointer.state != "stored":
        return pointer, None
    return pointer, _message_at(context.workspace_id, pointer)


def _apply_reaction(context: _Context) -> IngestResult:
    unit = context.unit
    assert unit.reaction is not None
    assert unit.customer_id is not None
    _, message = _target(context, unit.reaction.target_message_id)
    if message is None:
        return IngestResult("ignored")
    reactions = dict(message.reactions.as_dict() if message.reactions else {})
    current = reactions.get(unit.customer_id) or {}
    if int(current.get("at", 0)) > unit.timestamp_ms:
        return IngestResult("ignored")  # a newer reaction by the same person was already applied
    if unit.reaction.action == "unreact":
        reactions.pop(unit.customer_id, None)
    else:
        reactions[unit.customer_id] = compact(
            {"emoji": unit.reaction.emoji, "reaction": unit.reaction.reaction, "at": unit.timestamp_ms}
        )
    message.update(actions=[_set_or_remove(Message.reactions, reactions or None)])
    _touch_window(context, message.conversation_id)
    return IngestResult("updated")


def _set_or_remove(attribute: Any, value: Any) -> Any:
    return attribute.remove() if value is None else attribute.set(value)


def _touch_window(context: _Context, conversation_id: str) -> None:
    """User-originated events that are not messages (reactions) still move the 24-hour clock."""
    at = from_millis(context.unit.timestamp_ms)
    conversation = Conversation(*Conversation.key(context.workspace_id, conversation_id))
    try:
        conversation.update(
            actions=[Conversation.last_inbound_at.set(at)],
            condition=Conversation.pk.exists()
            & (Conversation.last_inbound_at.does_not_exist() | (Conversation.last_inbound_at < at)),
        )
    except UpdateError as error:
        if not condition_failed(error):  # an older clock value is the expected case
            raise


def _apply_edit(context: _Context) -> IngestResult:
    unit = context.unit
    assert unit.edit is not None
    _, message = _target(context, unit.edit.target_message_id)
    if message is None or message.deleted:
        return IngestResult("ignored")
    edits = list(message.edits or [])
    number = unit.edit.num_edit if unit.edit.num_edit is not None else len(edits) + 1
    if any(int(edit.get("num_edit", 0)) >= number for edit in edits):
        return IngestResult("duplicate")
    edits.append(compact({"previous_text": message.text, "num_edit": number, "at": unit.timestamp_ms}))
    cut = [Message.truncated.set(True)] if unit.truncated else []
    message.update(actions=[_set_or_remove(Message.text, unit.edit.text), Message.edits.set(edits), *cut])
    return IngestResult("updated")


def _apply_delete(context: _Context) -> IngestResult:
    """Instagram unsend: redact our copy, keep a tombstone; if the original comes later it stays redacted."""
    unit = context.unit
    assert unit.platform_message_id is not None
    message_id = message_id_for(unit.platform, unit.account_id, unit.platform_message_id)
    pointer, message = _target(context, unit.platform_message_id)
    if pointer is None:
        tombstone = MessagePointer(
            *MessagePointer.key(context.workspace_id, message_id),
            message_id=message_id,
            state="deleted",
            created_at=utcnow(),
        )
        if not save_if_absent(tombstone):
            return _apply_delete(context)  # the message won the race: redact it instead
        return IngestResult("recorded")
    if message is None or message.deleted:
        return IngestResult("duplicate")
    redact: list[Any] = [
        Message.deleted.set(True),
        Message.text.remove(),
        Message.attachments.remove(),
        Message.edits.remove(),
    ]
    message.update(actions=redact)
    return IngestResult("updated")


def _apply_watermark(context: _Context) -> IngestResult:
    """Messenger delivery / read watermarks: outbound messages at or before them are delivered / read."""
    unit = context.unit
    assert unit.customer_id is not None
    identity_id = identity_id_for(unit.platform, unit.account_id, unit.customer_id)
    if unit.watermark_ms is None:
        # Instagram "seen" names a message: its time is the watermark.
        _, message = _target(context, unit.platform_message_id or "")
        if message is None:
            return IngestResult("ignored")
        watermark = to_millis(message.sent_at)
        conversation_id = message.conversation_id
    else:
        watermark = unit.watermark_ms
        conversation_id = direct_conversation_id(identity_id)
    attribute = (
        Conversation.read_watermark if unit.kind == UnitKind.READ else Conversation.delivered_watermark
    )
    conversation = Conversation(*Conversation.key(context.workspace_id, conversation_id))
    try:
        conversation.update(
            actions=[attribute.set(watermark)], condition=Conversation.pk.exists() & (attribute < watermark)
        )
    except UpdateError as error:
        if not condition_failed(error):
            raise
        return IngestResult("ignored")  # an older or equal watermark changes nothing
    return IngestResult("updated")


def _apply_status(context: _Context) -> IngestResult:
    """WhatsApp statuses of our messages: monotonic; failed is terminal and keeps Meta's reason."""
    unit = context.unit
    assert unit.status is not None
    assert unit.platform_message_id is not None
    new_rank = STATUS_RANK.get(unit.status.status, 0)
    message_id = message_id_for(unit.platform, unit.account_id, unit.platform_message_id)
    pointer, message = _target(context, unit.platform_message_id)
    if message is None and pointer is None and unit.status.callback_data:
        from inbox_crm.outbound import settle  # rare path: kept out of the cold start

        # A send whose answer we lost: the status names it by our id (biz_opaque_callback_data).
        message = settle.settle_by_callback(
            context.workspace_id,
            unit.status.callback_data,
            unit.platform,
            unit.account_id,
            unit.platform_message_id,
        )
    status_record = compact(
        {
            "status": unit.status.status,
            "at": unit.timestamp_ms,
            "error_code": unit.status.error_code,
            "error_title": unit.status.error_title,
            "error_message": unit.status.error_message,
        }
    )
    if message is None:
        if pointer is None:
            # Our send has not recorded the wamid yet: keep the status for it.
            early = MessagePointer(
                *MessagePointer.key(context.workspace_id, message_id),
                message_id=message_id,
                state="status_first",
                early_status=status_record,
                created_at=utcnow(),
            )
            save_if_absent(early)
            return IngestResult("recorded")
        return IngestResult("ignored")
    current_rank = int(message.status_rank or 0)
    if current_rank == STATUS_RANK["failed"] or new_rank <= current_rank:
        return IngestResult("duplicate" if message.status == unit.status.status else "ignored")
    actions: list[Any] = [
        Message.status.set(unit.status.status),
        Message.status_rank.set(new_rank),
        Message.status_history.set([*(message.status_history or []), status_record]),
    ]
    if unit.status.status == "failed":
        code = str(unit.status.error_code) if unit.status.error_code else None
        actions += [
            _set_or_remove(Message.error_code, code),
            _set_or_remove(Message.error_reason, unit.status.error_message or unit.status.error_title),
        ]
    data = {
        "conversation_id": message.conversation_id,
        "message_id": message.message_id,
        "status": unit.status.status,
        "channel": unit.platform,
        "error_code": unit.status.error_code,
    }
    events = [_event(context, "MessageStatusChanged", f"{message.message_id}:{unit.status.status}", data)]
    try:
        with transaction() as tx:  # the status and its event: one request, both or neither
            tx.update(
                message,
                actions=actions,
                condition=(Message.status_rank.does_not_exist() | (Message.status_rank < new_rank))
                & (Message.status_rank != STATUS_RANK["failed"]),
            )
            stage(tx, events)
    except TransactionConflict:
        return IngestResult("ignored")  # a concurrent newer status won
    return IngestResult("updated", events)


def _apply_comment(context: _Context) -> IngestResult:
    unit = context.unit
    assert unit.comment is not None
    if unit.comment.verb == "add":
        return _store_message_like(context, kind="comment")
    _, message = _target(context, unit.comment.comment_id)
    if message is None:
        if unit.comment.verb == "edited" and unit.customer_id:
            return _store_message_like(context, kind="comment")  # we missed the add: keep what we have
        return IngestResult("ignored")
    if unit.comment.verb == "remove":
        if message.deleted:
            return IngestResult("duplicate")
        message.update(
            actions=[Message.deleted.set(True), Message.text.remove(), Message.attachments.remove()]
        )
        return IngestResult("updated")
    if message.text == unit.text:
        return IngestResult("duplicate")
    edits = [*(message.edits or []), compact({"previous_text": message.text, "at": unit.timestamp_ms})]
    message.update(actions=[_set_or_remove(Message.text, unit.text), Message.edits.set(edits)])
    return IngestResult("updated")


def _apply_number_change(context: _Context) -> IngestResult:
    """WhatsApp user_changed_number: a new identity takes over the conversation and contact link."""
    unit = context.unit
    assert unit.customer_id is not None
    if not unit.new_customer_id:
        return _record_for_operators(unit, "number_change_without_new_id", context.route)
    workspace_id = context.workspace_id
    old_id = identity_id_for(unit.platform, unit.account_id, unit.customer_id)
    new_id_ = identity_id_for(unit.platform, unit.account_id, unit.new_customer_id)
    try:
        old = Identity.get(*Identity.key(workspace_id, old_id), consistent_read=True)
    except Identity.DoesNotExist:
        return IngestResult("ignored")
    if old.moved_to == new_id_:
        return IngestResult("duplicate")
    phone = f"+{unit.new_customer_id}" if unit.new_customer_id.isdigit() else None
    moved = Identity(
        *Identity.key(workspace_id, new_id_),
        workspace_id=workspace_id,
        identity_id=new_id_,
        channel_id=old.channel_id,
        platform=old.platform,
        account_id=old.account_id,
        external_id=unit.new_customer_id,
        phone=phone,
        display_name=old.display_name,
        first_name=old.first_name,
        last_name=old.last_name,
        profile_pic_url=old.profile_pic_url,
        contact_id=old.contact_id,
        blocked=old.blocked,
        conversation_id=old.conversation_id,
        moved_from=old_id,
        created_at=utcnow(),
    )
    data = {"old_identity_id": old_id, "identity_id": new_id_, "conversation_id": old.conversation_id}
    events = [_event(context, "IdentityMoved", f"{old_id}:{new_id_}", data)]
    with transaction() as tx:
        tx.save(moved, condition=Identity.pk.does_not_exist())
        tx.update(old, actions=[Identity.moved_to.set(new_id_)])
        stage(tx, events)
        if old.conversation_id:
            conversation = Conversation(*Conversation.key(workspace_id, old.conversation_id))
            tx.update(
                conversation,
                actions=[
                    Conversation.identity_id.set(new_id_),
                    Conversation.handle.set(phone or unit.new_customer_id),
                ],
                condition=Conversation.pk.exists(),
            )
    if old.contact_id:
        from inbox_crm.contacts.linking import refresh_identity

        refresh_identity(workspace_id, new_id_)  # the contact's WhatsApp phone follows the number
    return IngestResult("updated", events)


# ------------------------------------------------------------------ events


def _event(context: _Context, name: str, cause: str, data: dict[str, Any]) -> DomainEvent:
    return DomainEvent(
        name=name,
        workspace_id=context.workspace_id,
        data=compact(data),
        cause=cause,
        correlation_id=context.correlation_id,
    )


def _identity_data(identity: Identity) -> dict[str, Any]:
    return {
        "identity_id": identity.identity_id,
        "channel": identity.platform,
        "channel_id": identity.channel_id,
        "account_id": identity.account_id,
    }


def _message_event_data(
    context: _Context, identity: Identity, conversation: Conversation, message: Message
) -> dict[str, Any]:
    unit = context.unit
    return {
        "conversation_id": conversation.conversation_id,
        "message_id": message.message_id,
        "identity_id": identity.identity_id,
        "contact_id": identity.contact_id,
        "channel": unit.platform,
        "channel_id": context.route.channel_id,
        "account_id": unit.account_id,
        "kind": message.kind,
        "text": message.text,
        "payload": (unit.postback or {}).get("payload")
        or unit.quick_reply_payload
        or (unit.interactive or {}).get("id"),
        "post_id": unit.comment.post_id if unit.comment else None,
        "message_sk": message.sk,
        "media_ids": [a.media_id for a in message.attachments or [] if a.media_id] or None,
        "comment_id": unit.comment.comment_id if unit.comment else None,
        "is_reply": unit.comment.is_reply if unit.comment else None,
    }


# ------------------------------------------------------------------ dispatch


def _store_inbound(kind: str) -> Callable[[_Context], IngestResult]:
    return lambda context: _store_message_like(context, kind=kind)


_HANDLERS: dict[UnitKind, Callable[[_Context], IngestResult]] = {
    UnitKind.MESSAGE: _store_inbound("message"),
    UnitKind.POSTBACK: _store_inbound("postback"),
    UnitKind.REFERRAL: _store_inbound("referral"),
    UnitKind.ECHO: _store_inbound("message"),
    UnitKind.COMMENT: _apply_comment,
    UnitKind.REACTION: _apply_reaction,
    UnitKind.EDIT: _apply_edit,
    UnitKind.DELETE: _apply_delete,
    UnitKind.DELIVERY: _apply_watermark,
    UnitKind.READ: _apply_watermark,
    UnitKind.STATUS: _apply_status,
    UnitKind.NUMBER_CHANGE: _apply_number_change,
}
