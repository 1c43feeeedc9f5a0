"""The inbox: GET /v1/conversations, /v1/conversations/{id}, /v1/conversations/{id}/messages."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from inbox_crm.http.errors_doc import documented
from inbox_crm.inbox import conversations
from inbox_crm.inbox.presenters import conversation_out, message_out
from inbox_crm.inbox.schemas import AssignIn, ConversationOut, ConversationPage, MessagePage
from inbox_crm.workspaces.principal import principal_of

router = Router()


@router.get(
    "/v1/conversations",
    summary="The inbox, newest activity first",
    tags=["inbox"],
    responses=documented(200, ConversationPage, "A page of conversations", 400, 401, 422),
)
def list_conversations(
    status: Annotated[Literal["open", "closed"], Query()] = "open",
    channel: Annotated[Literal["messenger", "instagram", "whatsapp"] | None, Query()] = None,
    registered: Annotated[bool | None, Query(description="Only senders who are (not) contacts")] = None,
    assignee: Annotated[str | None, Query(description="A user id, 'me' or 'none'", max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> ConversationPage:
    principal = principal_of(router)
    principal.require("conversations.read")
    criteria = conversations.InboxFilter(
        status=status,
        channel=channel,
        registered=registered,
        assignee=principal.user_id if assignee == "me" else assignee,
    )
    page = conversations.list_conversations(principal.workspace_id, criteria, limit, cursor)
    return ConversationPage(
        items=[conversation_out(item) for item in page.items], next_cursor=page.next_cursor
    )


@router.get(
    "/v1/conversations/<conversation_id>",
    summary="One conversation",
    tags=["inbox"],
    responses=documented(200, ConversationOut, "The conversation", 401, 404),
)
def get_conversation(conversation_id: str) -> ConversationOut:
    principal = principal_of(router)
    principal.require("conversations.read")
    return conversation_out(conversations.get_conversation(principal.workspace_id, conversation_id))


@router.get(
    "/v1/conversations/<conversation_id>/messages",
    summary="A conversation's messages, in platform-time order; the cursor pages to older ones",
    tags=["inbox"],
    responses=documented(200, MessagePage, "A page of messages", 400, 401, 404, 422),
)
def list_messages(
    conversation_id: str,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> MessagePage:
    principal = principal_of(router)
    principal.require("conversations.read")
    conversation, page = conversations.list_messages(principal.workspace_id, conversation_id, limit, cursor)
    return MessagePage(
        items=[message_out(item, conversation) for item in page.items], next_cursor=page.next_cursor
    )


def _change(user_id: str) -> conversations.Change:
    """Who changes it; the request's id correlates (the events' ids derive from the change itself)."""
    request_id = router.current_event.raw_event.get("requestContext", {}).get("requestId")
    return conversations.Change(by=user_id, correlation_id=request_id)


@router.post(
    "/v1/conversations/<conversation_id>/close",
    summary="Close a conversation (a new customer message reopens it)",
    tags=["inbox"],
    responses=documented(200, ConversationOut, "Closed", 401, 404, 409),
)
def close(conversation_id: str) -> ConversationOut:
    principal = principal_of(router)
    principal.require("conversations.work")
    conversation, _ = conversations.close_conversation(
        principal.workspace_id, conversation_id, _change(principal.user_id)
    )
    return conversation_out(conversation)


@router.post(
    "/v1/conversations/<conversation_id>/reopen",
    summary="Reopen a closed conversation",
    tags=["inbox"],
    responses=documented(200, ConversationOut, "Open", 401, 404, 409),
)
def reopen(conversation_id: str) -> ConversationOut:
    principal = principal_of(router)
    principal.require("conversations.work")
    conversation, _ = conversations.reopen_conversation(
        principal.workspace_id, conversation_id, _change(principal.user_id)
    )
    return conversation_out(conversation)


@router.post(
    "/v1/conversations/<conversation_id>/assign",
    summary="Assign the conversation to a member of the workspace (or unassign)",
    tags=["inbox"],
    responses=documented(200, ConversationOut, "Assigned", 400, 401, 404, 422),
)
def assign(conversation_id: str, body: AssignIn) -> ConversationOut:
    principal = principal_of(router)
    principal.require("conversations.work")
    conversations.assign_conversation(
        principal.workspace_id, conversation_id, body.assignee_id, _change(principal.user_id)
    )
    conversation = conversations.get_conversation(principal.workspace_id, conversation_id)
    return conversation_out(conversation)


@router.post(
    "/v1/conversations/<conversation_id>/read",
    summary="Mark the conversation's messages as read by the team",
    tags=["inbox"],
    responses=documented(200, ConversationOut, "Read", 401, 404),
)
def mark_read(conversation_id: str) -> ConversationOut:
    principal = principal_of(router)
    principal.require("conversations.read")
    conversations.mark_read(principal.workspace_id, conversation_id)
    return conversation_out(conversations.get_conversation(principal.workspace_id, conversation_id))
