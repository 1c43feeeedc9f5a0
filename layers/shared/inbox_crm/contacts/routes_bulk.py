"""The contact list's bulk actions (POST /v1/contacts/bulk) and a contact's conversations
(GET /v1/contacts/{id}/conversations), for the web app's Contactos section."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from inbox_crm.contacts import bulk
from inbox_crm.contacts.actors import actor_of
from inbox_crm.contacts.bulk_schemas import BulkContactResult, BulkContactsIn, BulkContactsOut
from inbox_crm.contacts.search import ContactFilter
from inbox_crm.http.errors_doc import documented
from inbox_crm.inbox.presenters import conversation_out
from inbox_crm.inbox.schemas import ConversationPage
from inbox_crm.workspaces.principal import principal_of

router = Router()


@router.post(
    "/v1/contacts/bulk",
    summary="Tag, untag, block, unblock or delete many contacts",
    description="`contact_ids` (up to 100) in one call, or `filter` (the list's q, tag, blocked): each "
    "call applies the action to one page of 100 matching contacts and answers `next_cursor`; call again "
    "with it as `cursor` until it is null. Each contact changes on its own and the answer says what "
    "happened to each; repeating a call changes nothing more (`unchanged`). The action's own permission "
    "applies (contacts.tag, contacts.block, contacts.unblock, contacts.delete).",
    tags=["contacts"],
    responses=documented(200, BulkContactsOut, "What happened to each contact", 400, 401, 403, 404, 415, 422),
)
def bulk_contacts(body: BulkContactsIn) -> BulkContactsOut:
    principal = principal_of(router)
    principal.require(bulk.PERMISSION[body.action])
    criteria = (
        ContactFilter(q=body.filter.q or None, tag=body.filter.tag, blocked=body.filter.blocked)
        if body.filter
        else None
    )
    outcome = bulk.bulk_contacts(
        principal.workspace_id,
        body.action,
        actor_of(principal),
        tag_id=body.tag_id,
        contact_ids=body.contact_ids,
        criteria=criteria,
        cursor=body.cursor,
    )
    return BulkContactsOut(
        results=[
            BulkContactResult(contact_id=contact_id, status=status)  # type: ignore[arg-type]
            for contact_id, status in outcome.results.items()
        ],
        next_cursor=outcome.next_cursor,
    )


@router.get(
    "/v1/contacts/<contact_id>/conversations",
    summary="The contact's conversations on all its channels, latest activity first",
    tags=["contacts", "inbox"],
    responses=documented(200, ConversationPage, "Every conversation of the contact", 401, 404),
)
def list_contact_conversations(contact_id: str) -> ConversationPage:
    principal = principal_of(router)
    principal.require("conversations.read")
    found = bulk.contact_conversations(principal.workspace_id, contact_id)
    return ConversationPage(items=[conversation_out(item) for item in found])
