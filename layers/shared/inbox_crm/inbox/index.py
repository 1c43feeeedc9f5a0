"""gsi1, the inbox index: which conversations the inbox lists, by workspace and status, newest
activity first. Shared by ingestion (new messages move a conversation) and contacts (blocking hides
a contact's conversations, unblocking shows them again)."""

from __future__ import annotations

from typing import Any

from inbox_crm.core.timeutil import to_millis
from inbox_crm.store.models import Conversation


def index(conversation: Conversation) -> None:
    """Set the conversation's gsi1 keys from its status and activity; hidden ones are left out."""
    if conversation.hidden:
        conversation.gsi1pk = None
        conversation.gsi1sk = None
        return
    conversation.gsi1pk = Conversation.inbox_pk(conversation.workspace_id, conversation.status)
    conversation.gsi1sk = f"{to_millis(conversation.last_activity_at):013d}#{conversation.conversation_id}"


def reindex_actions(conversation: Conversation) -> list[Any]:
    """Update actions that store the keys index() computes for the conversation as it is now."""
    index(conversation)
    if conversation.gsi1pk is None:
        return [Conversation.gsi1pk.remove(), Conversation.gsi1sk.remove()]
    return [Conversation.gsi1pk.set(conversation.gsi1pk), Conversation.gsi1sk.set(conversation.gsi1sk)]
