"""Identities after the first message: a WhatsApp auto-link a crash left unfinished, and a WhatsApp
number change handing the conversation and contact link to a new identity."""

from __future__ import annotations

from inbox_crm.core.timeutil import utcnow
from inbox_crm.events.outbox import DomainEvent, stage
from inbox_crm.ingest.context import Context, IngestResult, new_event
from inbox_crm.ingest.ids import identity_id_for
from inbox_crm.ingest.unrouted import record_for_operators
from inbox_crm.store.models import Conversation, Identity
from inbox_crm.store.transactions import transaction


def finish_auto_link(context: Context, identity: Identity | None) -> list[DomainEvent]:
    """The link commits after the message: a function that died between the two left its intent on
    the identity, and the redelivery (a duplicate by then) finishes it. A duplicate without that
    intent costs nothing more than its BatchGetItem."""
    if identity is None or not identity.auto_link_to or identity.contact_id:
        return []
    from inbox_crm.contacts.autolink import auto_link_whatsapp

    return auto_link_whatsapp(identity, context.correlation_id)


def apply_number_change(context: Context) -> IngestResult:
    """WhatsApp user_changed_number: a new identity takes over the conversation and contact link."""
    unit = context.unit
    assert unit.customer_id is not None
    if not unit.new_customer_id:
        return record_for_operators(unit, "number_change_without_new_id", context.route)
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
    events = [new_event(context, "IdentityMoved", f"{old_id}:{new_id_}", data)]
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
