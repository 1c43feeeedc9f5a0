"""The conversations of a contact's identities follow the contact: each shows its contact id, and a
blocked contact's conversations are hidden from the inbox. Idempotent updates made right after the
contact's transaction (an identity may have more conversations than a transaction may hold)."""

from __future__ import annotations

from typing import Any

from pynamodb.exceptions import UpdateError
from pynamodb.expressions.condition import Condition

from inbox_crm.contacts.commit import MAX_ATTEMPTS
from inbox_crm.contacts.reads import get_conversation
from inbox_crm.inbox.index import reindex_actions
from inbox_crm.store.models import Conversation, Identity, IdentityConversation
from inbox_crm.store.transactions import condition_failed


def conversation_ids_of(workspace_id: str, identity_id: str) -> list[str]:
    """The identity's conversations (its direct one and one per commented post)."""
    links = IdentityConversation.query(
        Identity.pk_for(workspace_id, identity_id),
        IdentityConversation.sk.startswith("CONV#"),
        consistent_read=True,
    )
    return [link.conversation_id for link in links if isinstance(link, IdentityConversation)]


def set_conversations_contact(
    workspace_id: str,
    identity_id: str,
    contact_id: str | None,
    *,
    previous: str | None = None,
    conversation_ids: list[str] | None = None,
) -> list[str]:
    """Every conversation of the identity (direct and per-post comments) shows its contact; ingestion
    copies the identity's contact into conversations opened later. Idempotent."""
    if conversation_ids is None:
        conversation_ids = conversation_ids_of(workspace_id, identity_id)
    for conversation_id in conversation_ids:
        conversation = Conversation(*Conversation.key(workspace_id, conversation_id))
        action: Any
        condition: Condition
        if contact_id is None:
            action = Conversation.contact_id.remove()
            condition = Conversation.contact_id == previous  # never clear someone else's newer link
        else:
            action = Conversation.contact_id.set(contact_id)
            condition = Conversation.pk.exists()
        try:
            conversation.update(actions=[action], condition=condition)
        except UpdateError as error:
            if not condition_failed(error):
                raise
    return conversation_ids


def hide_conversations(workspace_id: str, conversation_ids: list[str]) -> None:
    for conversation_id in conversation_ids:
        conversation = Conversation(*Conversation.key(workspace_id, conversation_id))
        conversation.hidden = True
        conversation.status = "closed"
        actions = [
            Conversation.hidden.set(True),
            Conversation.status.set("closed"),
            *reindex_actions(conversation),
        ]
        conversation.update(actions=actions, condition=Conversation.pk.exists())


def show_conversations(workspace_id: str, conversation_ids: list[str]) -> None:
    keys = [Conversation.key(workspace_id, conversation_id) for conversation_id in conversation_ids]
    for conversation in Conversation.batch_get(keys, consistent_read=True):
        if isinstance(conversation, Conversation):
            _show_conversation(conversation)


def _show_conversation(conversation: Conversation) -> None:
    """Its inbox keys depend on status and activity: written on condition that they are the ones
    we read, so a message landing meanwhile (ingestion moves both) makes us read again."""
    current: Conversation | None = conversation
    for _ in range(MAX_ATTEMPTS):
        if current is None or not current.hidden:
            return
        current.hidden = False
        actions = [Conversation.hidden.set(False), *reindex_actions(current)]
        condition = (Conversation.status == current.status) & (
            Conversation.last_activity_at == current.last_activity_at
        )
        try:
            current.update(actions=actions, condition=condition)
            return
        except UpdateError as error:
            if not condition_failed(error):
                raise
        current = get_conversation(current.workspace_id, current.conversation_id)
