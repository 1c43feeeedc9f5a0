"""Settling a send's outcome: sent (with a pointer from each platform id), unknown, or unconfirmed.

Used by delivery when Meta answers (or does not), and by ingest when Meta's echo or status webhook
confirms a message whose answer we never kept: that settles it as sent, once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pynamodb.exceptions import PutError

from inbox_crm.core.observability import logger
from inbox_crm.core.settings import get_settings
from inbox_crm.core.timeutil import to_millis
from inbox_crm.inbox.messages import STATUS_RANK, message_id_for
from inbox_crm.meta.send import explain
from inbox_crm.outbound.compose import conversation_identity
from inbox_crm.outbound.transitions import (
    UNCONFIRMED,
    UNCONFIRMED_FAILURE,
    awaits_confirmation,
    done_actions,
    due_actions,
    mine,
    reread,
    transition,
)
from inbox_crm.ports import ports
from inbox_crm.store.models import Conversation, Message, MessagePointer
from inbox_crm.store.transactions import condition_failed, save_if_absent


def _sent_actions(sent_ids: list[str], now: datetime) -> list[Any]:
    actions: list[Any] = [
        Message.status.set("sent"),
        Message.status_rank.set(STATUS_RANK["sent"]),
        Message.status_history.set([{"status": "sent", "at": to_millis(now)}]),
        Message.error_code.remove(),
        Message.error_reason.remove(),
        *done_actions(),
    ]
    if sent_ids:
        actions += [Message.platform_message_id.set(sent_ids[0]), Message.platform_message_ids.set(sent_ids)]
    return actions


def mark_sent(
    message: Message, platform: str, account_id: str, sent_ids: list[str], now: datetime
) -> Message:
    # A webhook may have settled it already (sent): that is the same outcome.
    condition = mine(message) & Message.status.is_in("sending", "unknown", "sent")
    if not transition(message, _sent_actions(sent_ids, now), condition):
        return reread(message)
    _write_pointers(message, platform, account_id, sent_ids, now)
    return message


def _pointer_to(message: Message, pointer_id: str, now: datetime) -> MessagePointer:
    return MessagePointer(
        *MessagePointer.key(message.workspace_id, pointer_id),
        message_id=message.message_id,
        conversation_id=message.conversation_id,
        message_sk=message.sk,
        state="stored",
        created_at=now,
    )


def _write_pointers(
    message: Message, platform: str, account_id: str, sent_ids: list[str], now: datetime
) -> None:
    """A pointer from each platform id to the message, so echoes and statuses find it."""
    early: list[dict[str, Any]] = []
    for sent_id in sent_ids:
        pointer_id = message_id_for(platform, account_id, sent_id)
        pointer = _pointer_to(message, pointer_id, now)
        if not save_if_absent(pointer):
            # A status webhook (or our echo) got here first.
            existing = MessagePointer.get(*MessagePointer.key(message.workspace_id, pointer_id))
            if existing.state == "status_first" and existing.early_status:
                early.append(existing.early_status.as_dict())
            pointer.save()
    for status in sorted(early, key=lambda item: STATUS_RANK.get(item.get("status", ""), 0)):
        _apply_early_status(message, status)


def own_pointer(workspace_id: str, message_id: str) -> MessagePointer | None:
    try:
        return MessagePointer.get(
            *MessagePointer.key(workspace_id, f"ours:{message_id}"), consistent_read=True
        )
    except MessagePointer.DoesNotExist:
        return None


def mark_unknown(
    message: Message,
    sent_ids: list[str],
    now: datetime,
    *,
    platform: str | None = None,
    account_id: str | None = None,
) -> Message:
    """Meta may have accepted the message: never re-sent automatically. The echo (Messenger metadata)
    or a status (WhatsApp biz_opaque_callback_data) settles it; the agent may retry it."""
    pointer = _pointer_to(message, f"ours:{message.message_id}", now)
    early_id: str | None = None
    try:
        pointer.save(condition=MessagePointer.pk.does_not_exist() | (MessagePointer.state == "stored"))
    except PutError as error:
        if not condition_failed(error):
            raise
        existing = own_pointer(message.workspace_id, message.message_id)
        early = existing.early_status.as_dict() if existing and existing.early_status else {}
        early_id = early.get("platform_message_id")
        pointer.save()
    if early_id:  # a status named this message before we recorded its outcome: it was sent
        if platform is None or account_id is None:
            conversation = Conversation.get(*Conversation.key(message.workspace_id, message.conversation_id))
            platform, account_id = conversation.platform, conversation_identity(conversation).account_id
        return mark_sent(message, platform, account_id, [early_id], now)
    confirm_by = now + timedelta(seconds=get_settings().unconfirmed_after_seconds)
    actions: list[Any] = [
        Message.status.set("unknown"),
        Message.error_code.set("outcome_unknown"),
        Message.error_reason.set("Meta may or may not have received this message"),
        # Due again when the confirmation window closes: then it ends failed (expire_unconfirmed).
        *due_actions(message, confirm_by),
        Message.lease_until.remove(),
    ]
    if sent_ids:
        actions += [Message.platform_message_id.set(sent_ids[0]), Message.platform_message_ids.set(sent_ids)]
    if not transition(message, actions, mine(message) & (Message.status == "sending")):
        return reread(message)
    logger.warning("send outcome unknown", extra={"message_id": message.message_id})
    return message


def settle_seen(message: Message, platform: str, account_id: str, platform_message_id: str) -> Message:
    """Meta told us (echo or status) that a message whose outcome we did not learn was accepted."""
    condition = (
        Message.status.is_in("sending", "unknown") | UNCONFIRMED_FAILURE
    ) & Message.post_started_at.exists()
    now = ports().clock()
    if transition(message, _sent_actions([platform_message_id], now), condition):
        _write_pointers(message, platform, account_id, [platform_message_id], now)
        logger.info("unknown outcome settled by Meta", extra={"message_id": message.message_id})
        return message
    return reread(message)


def settle_by_callback(
    workspace_id: str, our_message_id: str, platform: str, account_id: str, platform_message_id: str
) -> Message | None:
    """A WhatsApp status names our message (biz_opaque_callback_data) by a wamid we never learnt."""
    pointer = own_pointer(workspace_id, our_message_id)
    if pointer is None or pointer.state != "stored" or not pointer.message_sk:
        # Our send has not recorded its unknown outcome yet: leave the wamid for it.
        early = MessagePointer(
            *MessagePointer.key(workspace_id, f"ours:{our_message_id}"),
            message_id=our_message_id,
            state="status_first",
            early_status={"platform_message_id": platform_message_id},
            created_at=ports().clock(),
        )
        save_if_absent(early)
        return None
    try:
        message = Message.get(
            Conversation.pk_for(workspace_id, pointer.conversation_id or ""), pointer.message_sk
        )
    except Message.DoesNotExist:
        return None
    if not awaits_confirmation(message):
        return None
    return settle_seen(message, platform, account_id, platform_message_id)


def expire_unconfirmed(message: Message, now: datetime) -> Message:
    """Meta confirms every message it accepts (an echo, a status) within seconds; none came for this
    one within the window, so it most likely never arrived. It ends failed with that reason, for the
    agent to retry (never automatically); a late confirmation still turns it into sent."""
    due = f"{to_millis(now):013d}#~"
    expired = transition(
        message,
        [
            Message.status.set("failed"),
            Message.error_code.set(UNCONFIRMED),
            Message.error_reason.set("Meta never confirmed this message"),
            *done_actions(),
        ],
        (Message.status == "unknown") & (Message.gsi2sk <= due),
    )
    if not expired:
        return reread(message)
    logger.warning("send outcome never confirmed", extra={"message_id": message.message_id})
    return reread(message)


def _apply_early_status(message: Message, status: dict[str, Any]) -> None:
    rank = STATUS_RANK.get(status.get("status", ""), 0)
    if rank <= int(message.status_rank or 0):
        return
    actions: list[Any] = [
        Message.status.set(status["status"]),
        Message.status_rank.set(rank),
        Message.status_history.set([*(message.status_history or []), status]),
    ]
    if status["status"] == "failed":
        reason_code, reason = explain(status.get("error_code"), None, status.get("error_message"))
        actions += [
            Message.error_code.set(f"{reason_code}:{status.get('error_code')}"),
            Message.error_reason.set(reason),
        ]
    message.update(actions=actions)
