"""Echoes of business messages: one we sent from the product is that message, not a new one; any
other is attributed to where it was sent from."""

from __future__ import annotations

from inbox_crm.core.timeutil import utcnow
from inbox_crm.ingest.context import Context
from inbox_crm.meta.units import InboundUnit
from inbox_crm.store.models import Conversation, Message, MessagePointer
from inbox_crm.store.transactions import save_if_absent

_RECONCILE_WINDOW = 50  # our recent sends an echo may belong to


def reconcile_echo(context: Context, conversation: Conversation, pointer_message_id: str) -> bool:
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


def origin_of(unit: InboundUnit) -> str:
    if unit.comment is not None:
        return "page"
    from inbox_crm.core.settings import get_settings

    our_app = get_settings().meta_app_id
    if unit.echo_app_id and our_app and unit.echo_app_id == our_app:
        return "app"
    if unit.echo_app_id is None and unit.platform == "instagram":
        return "business"  # Instagram echoes carry no app id: our sends reconcile by message id first
    return "meta_inbox"
