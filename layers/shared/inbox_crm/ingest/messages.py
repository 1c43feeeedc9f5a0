"""Customer messages, postbacks, referrals, comments and echoes: one message in one conversation,
with its identity, conversation, pointer and events in one transaction."""

from __future__ import annotations

from typing import Any

from inbox_crm.events.outbox import DomainEvent, stage
from inbox_crm.inbox.index import index as _index
from inbox_crm.inbox.index import reindex_actions as _reindex_actions
from inbox_crm.inbox.messages import message_id_for
from inbox_crm.ingest.context import Context, IngestResult, new_event
from inbox_crm.ingest.echoes import origin_of, reconcile_echo
from inbox_crm.ingest.identities import finish_auto_link
from inbox_crm.ingest.ids import comment_conversation_id, direct_conversation_id, identity_id_for
from inbox_crm.ingest.records import (
    build_conversation,
    build_identity,
    build_message,
    conversation_link,
    conversation_update,
    get_conversation,
    pointer_for,
    read_snapshot,
)
from inbox_crm.meta.units import UnitKind
from inbox_crm.store.models import Conversation, Identity, Message, MessagePointer
from inbox_crm.store.transactions import transaction


def store_message_like(context: Context, *, kind: str) -> IngestResult:
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
    snapshot = read_snapshot(workspace_id, message_id, identity_id, conversation_id)
    if snapshot.pointer is not None and snapshot.pointer.state == "stored":
        return IngestResult("duplicate", finish_auto_link(context, snapshot.identity))
    identity = snapshot.identity
    if identity is not None and identity.conversation_id and not is_comment:
        conversation_id = identity.conversation_id  # a number change handed it over
        if conversation_id != direct_conversation_id(identity_id):
            snapshot.conversation = get_conversation(workspace_id, conversation_id)
    echo_of_ours = (
        unit.kind == UnitKind.ECHO
        and snapshot.conversation is not None
        and reconcile_echo(context, snapshot.conversation, message_id)
    )
    if echo_of_ours:
        return IngestResult("duplicate")
    deleted_early = snapshot.pointer is not None and snapshot.pointer.state == "deleted"
    direction = "outbound" if from_business else "inbound"
    origin = origin_of(unit) if from_business else "customer"
    message = build_message(
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
        identity = build_identity(context, identity_id, direct_conversation_id(identity_id))
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
            conversation = build_conversation(
                context,
                identity,
                conversation_id,
                kind="comment" if is_comment else "direct",
                post_id=unit.comment.post_id if unit.comment else None,
            )
            opened = direction == "inbound"
            conversation_update(conversation, message, counts_as_unread=False, moves_window=moves_window)
            conversation.unread_count = 1 if direction == "inbound" else 0
            _index(conversation)
            tx.save(conversation, condition=Conversation.pk.does_not_exist())
            tx.save(conversation_link(workspace_id, identity_id, conversation_id, unit.timestamp_ms))
        else:
            actions, condition = conversation_update(
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
            tx.save(pointer_for(workspace_id, message), condition=MessagePointer.pk.does_not_exist())
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
            events.append(
                new_event(context, "IdentityCreated", identity.identity_id, _identity_data(identity))
            )
        blocked = link_to.blocked if link_to is not None else identity.blocked
        if user_originated and not blocked:
            data = _message_event_data(context, identity, conversation, message)
            if link_to is not None:
                data["contact_id"] = link_to.contact_id
            if opened and not is_comment:
                events.append(
                    new_event(context, "ConversationOpened", f"{conversation_id}:{message_id}", data)
                )
            name = "CommentReceived" if is_comment else "MessageReceived"
            events.append(new_event(context, name, message_id, data))
        stage(tx, events)

    if link_to is not None:
        from inbox_crm.contacts.autolink import auto_link_whatsapp

        linked = auto_link_whatsapp(identity, context.correlation_id, link_to)  # commits ContactAssociated
        events[1:1] = linked  # after IdentityCreated, in the order they happened
    return IngestResult("stored", events)


def _identity_data(identity: Identity) -> dict[str, Any]:
    return {
        "identity_id": identity.identity_id,
        "channel": identity.platform,
        "channel_id": identity.channel_id,
        "account_id": identity.account_id,
    }


def _message_event_data(
    context: Context, identity: Identity, conversation: Conversation, message: Message
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
