"""POST /v1/conversations/{id}/messages: replies, templates, comment replies and scheduled sends."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response, content_types
from aws_lambda_powertools.event_handler.api_gateway import Router

from inbox_crm.core.errors import InvalidInput
from inbox_crm.http.errors_doc import documented
from inbox_crm.inbox import conversations
from inbox_crm.inbox.presenters import message_out
from inbox_crm.inbox.schemas import MessageOut
from inbox_crm.meta.policy import Sender
from inbox_crm.meta.send import OutboundContent
from inbox_crm.outbound.compose import Author, SendSpec
from inbox_crm.outbound.delivery import retry_unknown
from inbox_crm.outbound.schedule import cancel_scheduled
from inbox_crm.outbound.schemas import SendIn
from inbox_crm.outbound.send import send_message as send
from inbox_crm.workspaces.principal import principal_of

router = Router()

_REPLY_MODES = {"message": "message", "public": "public_reply", "private": "private_reply"}


@router.post(
    "/v1/conversations/<conversation_id>/messages",
    summary="Send (or schedule) a message in a conversation",
    description=(
        "Stored as queued, sent through the Graph API inside Meta's policy, then sent / failed with a "
        "reason, or unknown when Meta's answer was lost (the agent may retry it). With send_at in the "
        "future it is scheduled. An Idempotency-Key header makes retries of the same request answer "
        "with the message's current state; the same key with another request is a 422 "
        "(idempotency_key_reused)."
    ),
    tags=["inbox"],
    status_code=201,
    responses=documented(
        201, MessageOut, "Created (200 when the idempotency key was seen)", 400, 401, 403, 404, 409, 422
    ),
)
def send_message(conversation_id: str, body: SendIn) -> Response[str]:
    principal = principal_of(router)
    principal.require("messages.send")
    key = (router.current_event.headers or {}).get("idempotency-key")
    if key is not None and not (1 <= len(key) <= 200 and key.isprintable()):
        raise InvalidInput(
            "Idempotency-Key must be 1 to 200 printable characters", {"header": "Idempotency-Key"}
        )
    content = OutboundContent(
        text=body.text,
        attachments=[attachment.model_dump(exclude_none=True) for attachment in body.attachments],
        buttons=[button.model_dump(exclude_none=True) for button in body.buttons],
        quick_replies=[reply.model_dump() for reply in body.quick_replies],
        template=body.template.model_dump(exclude_none=True) if body.template else None,
        reply_to=body.reply_to,
    )
    spec = SendSpec(
        content=content,
        send_at=body.send_at,
        reply_mode=_REPLY_MODES[body.reply],
        comment_id=body.comment_id,
        idempotency_key=key,
    )
    sent = send(principal.workspace_id, conversation_id, spec, Author(Sender.HUMAN, principal.user_id))
    conversation = conversations.get_conversation(principal.workspace_id, conversation_id)
    return Response(
        status_code=201 if sent.created else 200,
        content_type=content_types.APPLICATION_JSON,
        body=message_out(sent.message, conversation).model_dump_json(),
    )


@router.post(
    "/v1/conversations/<conversation_id>/messages/<message_id>/retry",
    summary="Send again a message whose outcome is unknown",
    description=(
        "Meta's answer to this message was lost, so it may or may not have reached the customer. "
        "Retrying is the agent's decision (the customer may receive it twice); only a message in the "
        "unknown state can be retried (409 not_unknown otherwise)."
    ),
    tags=["inbox"],
    responses=documented(200, MessageOut, "The message after the new attempt", 401, 403, 404, 409),
)
def retry_message(conversation_id: str, message_id: str) -> Response[str]:
    principal = principal_of(router)
    principal.require("messages.send")
    message = retry_unknown(principal.workspace_id, conversation_id, message_id)
    conversation = conversations.get_conversation(principal.workspace_id, conversation_id)
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=message_out(message, conversation).model_dump_json(),
    )


@router.post(
    "/v1/conversations/<conversation_id>/messages/<message_id>/cancel",
    summary="Cancel a scheduled message",
    description=(
        "A scheduled message that has not started sending is never sent (status cancelled); once it is "
        "sending or sent it cannot be cancelled (409 not_scheduled)."
    ),
    tags=["inbox"],
    responses=documented(200, MessageOut, "The cancelled message", 401, 403, 404, 409),
)
def cancel_message(conversation_id: str, message_id: str) -> Response[str]:
    principal = principal_of(router)
    principal.require("messages.send")
    conversation = conversations.get_conversation(principal.workspace_id, conversation_id)
    message = cancel_scheduled(principal.workspace_id, conversation_id, message_id)
    return Response(
        status_code=200,
        content_type=content_types.APPLICATION_JSON,
        body=message_out(message, conversation).model_dump_json(),
    )
