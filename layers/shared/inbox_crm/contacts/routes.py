"""Contacts: search and CRUD, block / unblock, tags on a contact, and the conversation's contact
(create or associate from the conversation, or unlink)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Annotated, Literal

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from inbox_crm.contacts import blocking, deletion, editing, linking, reads, tagging
from inbox_crm.contacts.actors import actor_of
from inbox_crm.contacts.presenters import contact_out
from inbox_crm.contacts.schemas import (
    ContactCreate,
    ContactLinkOut,
    ContactOut,
    ContactPage,
    ContactPatch,
    ContactTagIn,
    ConversationContactIn,
)
from inbox_crm.contacts.search import ContactFilter, search_contacts
from inbox_crm.contacts.values import InvalidFields
from inbox_crm.http.errors_doc import documented, error_response
from inbox_crm.inbox.presenters import conversation_out
from inbox_crm.inbox.schemas import ConversationOut
from inbox_crm.workspaces.principal import principal_of

router = Router()


@router.exception_handler(InvalidFields)
def _invalid_fields(error: InvalidFields) -> Response[str]:
    """Values the schema cannot judge alone (a phone for the workspace's region, a custom field's
    type) fail like schema validation does: 422 with {loc, msg, type} per field. Registered here,
    it applies to every route of the resolver."""
    return error_response(HTTPStatus.UNPROCESSABLE_ENTITY, error.code, error.message, error.details)


def _expected_version(body_version: int | None) -> int | None:
    """The version the client edited: `If-Match: <version>` (quotes and W/ allowed) or the body's."""
    header = router.current_event.headers.get("if-match")
    if header is None:
        return body_version
    text = header.strip().removeprefix("W/").strip('"')
    if not text.isdigit() or int(text) < 1:
        raise InvalidFields.one(("header", "If-Match"), "the contact's version number", "version")
    if body_version is not None and body_version != int(text):
        raise InvalidFields.one(("version",), "differs from If-Match", "version")
    return int(text)


@router.get(
    "/v1/contacts",
    summary="Search and list contacts",
    description="q finds contacts by first name, last name, phone (any common format) or email: prefix, "
    "case- and accent-insensitive, at least 2 characters. Without q: all contacts, newest first.",
    tags=["contacts"],
    responses=documented(200, ContactPage, "A page of contacts", 400, 401, 422),
)
def list_contacts(
    q: Annotated[str | None, Query(max_length=100)] = None,
    tag: Annotated[str | None, Query(max_length=64, description="A tag id")] = None,
    blocked: Annotated[bool | None, Query()] = None,
    has_channel: Annotated[
        Literal["messenger", "instagram", "whatsapp", "any", "none"] | None,
        Query(description="Contacts with (or without) a linked channel of this kind"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> ContactPage:
    principal = principal_of(router)
    principal.require("contacts.read")
    criteria = ContactFilter(q=q or None, tag=tag or None, blocked=blocked, has_channel=has_channel)
    page = search_contacts(principal.workspace_id, criteria, limit, cursor)
    return ContactPage(items=[contact_out(item) for item in page.items], next_cursor=page.next_cursor)


@router.post(
    "/v1/contacts",
    summary="Create a contact",
    tags=["contacts"],
    status_code=201,
    responses=documented(201, ContactOut, "Created", 400, 401, 403, 415, 422),
)
def create_contact(body: ContactCreate) -> ContactOut:
    principal = principal_of(router)
    principal.require("contacts.write")
    return contact_out(editing.create_contact(principal.workspace_id, body.provided(), actor_of(principal)))


@router.get(
    "/v1/contacts/<contact_id>",
    summary="One contact",
    tags=["contacts"],
    responses=documented(200, ContactOut, "The contact", 401, 404),
)
def get_contact(contact_id: str) -> ContactOut:
    principal = principal_of(router)
    principal.require("contacts.read")
    return contact_out(reads.get_contact(principal.workspace_id, contact_id))


@router.patch(
    "/v1/contacts/<contact_id>",
    summary="Edit some fields of a contact",
    description="Only the fields sent change (null clears one). Send the version you edited as "
    "If-Match or `version`: if the contact changed since, the answer is 412 and nothing is written.",
    tags=["contacts"],
    responses=documented(200, ContactOut, "The edited contact", 400, 401, 403, 404, 412, 415, 422),
)
def patch_contact(contact_id: str, body: ContactPatch) -> ContactOut:
    principal = principal_of(router)
    principal.require("contacts.write")
    expected = _expected_version(body.version)
    contact = editing.update_contact(
        principal.workspace_id, contact_id, body.provided(), actor_of(principal), expected
    )
    return contact_out(contact)


@router.delete(
    "/v1/contacts/<contact_id>",
    summary="Delete a contact (kept as an audit record; its conversations stay with their senders)",
    tags=["contacts"],
    status_code=204,
    responses=documented(204, None, "Deleted", 401, 403, 404, 409, 412, 422),
)
def delete_contact(contact_id: str) -> Response[None]:
    principal = principal_of(router)
    principal.require("contacts.delete")
    deletion.delete_contact(principal.workspace_id, contact_id, actor_of(principal), _expected_version(None))
    return Response(status_code=204)


@router.post(
    "/v1/contacts/<contact_id>/block",
    summary="Block a contact: its conversations close and leave the inbox; later messages are stored, hidden",
    tags=["contacts"],
    responses=documented(200, ContactOut, "Blocked", 401, 403, 404, 409),
)
def block_contact(contact_id: str) -> ContactOut:
    principal = principal_of(router)
    principal.require("contacts.block")
    return contact_out(blocking.block_contact(principal.workspace_id, contact_id, actor_of(principal)))


@router.post(
    "/v1/contacts/<contact_id>/unblock",
    summary="Unblock a contact: its conversations show in the inbox again",
    tags=["contacts"],
    responses=documented(200, ContactOut, "Unblocked", 401, 403, 404, 409),
)
def unblock_contact(contact_id: str) -> ContactOut:
    principal = principal_of(router)
    principal.require("contacts.unblock")
    return contact_out(blocking.unblock_contact(principal.workspace_id, contact_id, actor_of(principal)))


@router.post(
    "/v1/contacts/<contact_id>/tags",
    summary="Add an existing tag to a contact",
    tags=["contacts", "tags"],
    responses=documented(200, ContactOut, "The contact with the tag", 400, 401, 403, 404, 409, 415, 422),
)
def add_contact_tag(contact_id: str, body: ContactTagIn) -> ContactOut:
    principal = principal_of(router)
    principal.require("contacts.tag")
    return contact_out(tagging.add_tag(principal.workspace_id, contact_id, body.tag_id, actor_of(principal)))


@router.delete(
    "/v1/contacts/<contact_id>/tags/<tag_id>",
    summary="Remove a tag from a contact",
    tags=["contacts", "tags"],
    responses=documented(200, ContactOut, "The contact without the tag", 401, 403, 404, 409),
)
def remove_contact_tag(contact_id: str, tag_id: str) -> ContactOut:
    principal = principal_of(router)
    principal.require("contacts.tag")
    return contact_out(tagging.remove_tag(principal.workspace_id, contact_id, tag_id, actor_of(principal)))


@router.post(
    "/v1/conversations/<conversation_id>/contact",
    summary="Create or associate the conversation's contact",
    description="`contact_id` associates the sender with an existing contact; `contact` creates one "
    "(first name, last name and consent required). WhatsApp: the number becomes the WhatsApp phone, and "
    "the primary phone when there is none; Messenger: the PSID is the Facebook ID; Instagram: the "
    "username and IGSID. Every conversation of the sender, past and future, belongs to the contact. "
    "A sender already linked to another contact answers 409 naming it.",
    tags=["contacts", "inbox"],
    responses={
        **documented(201, ContactLinkOut, "A contact was created from the conversation"),
        **documented(200, ContactLinkOut, "Associated", 400, 401, 403, 404, 409, 415, 422),
    },
)
def link_conversation_contact(conversation_id: str, body: ConversationContactIn) -> Response[str]:
    principal = principal_of(router)
    principal.require("contacts.write")
    try:
        result = linking.link_conversation(
            principal.workspace_id,
            conversation_id,
            actor_of(principal),
            contact_id=body.contact_id,
            new_contact=body.contact.provided() if body.contact else None,
        )
    except InvalidFields as error:
        raise error.nested("contact") from None
    out = ContactLinkOut(
        created=result.created,
        contact=contact_out(result.contact),
        conversation=conversation_out(result.conversation),
    )
    return Response(
        status_code=201 if result.created else 200,
        content_type="application/json",
        body=out.model_dump_json(),
    )


@router.delete(
    "/v1/conversations/<conversation_id>/contact",
    summary="Remove the conversation's sender from its contact (the history stays with the sender)",
    tags=["contacts", "inbox"],
    responses=documented(200, ConversationOut, "The conversation, now without contact", 401, 403, 404, 409),
)
def unlink_conversation_contact(conversation_id: str) -> ConversationOut:
    principal = principal_of(router)
    principal.require("contacts.unlink")
    return conversation_out(
        linking.unlink_conversation(principal.workspace_id, conversation_id, actor_of(principal))
    )
