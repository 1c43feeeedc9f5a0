"""Tags (GET/POST /v1/tags, bulk POST /v1/tags/{id}/contacts) and custom contact fields
(GET/POST /v1/custom-fields)."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from inbox_crm.contacts import custom_fields, tagging, tags
from inbox_crm.contacts.actors import actor_of
from inbox_crm.contacts.schemas import (
    BulkTagIn,
    BulkTagOut,
    BulkTagResult,
    CustomFieldIn,
    CustomFieldList,
    CustomFieldOut,
    TagIn,
    TagList,
    TagOut,
)
from inbox_crm.http.errors_doc import documented
from inbox_crm.store.models import CustomField, Tag
from inbox_crm.workspaces.principal import principal_of

router = Router()


def tag_out(tag: Tag) -> TagOut:
    return TagOut(id=tag.tag_id, name=tag.name, color=tag.color, created_at=tag.created_at)


def custom_field_out(field: CustomField) -> CustomFieldOut:
    return CustomFieldOut(
        key=field.field_key,
        label=field.label,
        type=field.field_type,  # type: ignore[arg-type]
        options=list(field.options) if field.options else None,
        created_at=field.created_at,
    )


@router.get(
    "/v1/tags",
    summary="The workspace's tags",
    tags=["tags"],
    responses=documented(200, TagList, "Every tag, by name", 401),
)
def list_tags() -> TagList:
    principal = principal_of(router)
    principal.require("tags.read")
    return TagList(items=[tag_out(tag) for tag in tags.list_tags(principal.workspace_id)])


@router.post(
    "/v1/tags",
    summary="Create a tag (one per name, ignoring case and accents)",
    tags=["tags"],
    status_code=201,
    responses=documented(201, TagOut, "Created", 400, 401, 403, 409, 415, 422),
)
def create_tag(body: TagIn) -> TagOut:
    principal = principal_of(router)
    principal.require("tags.manage")
    return tag_out(tags.create_tag(principal.workspace_id, body.name, body.color, principal.user_id))


@router.post(
    "/v1/tags/<tag_id>/contacts",
    summary="Add the tag to, or remove it from, up to 100 contacts",
    description="Each contact changes on its own; the answer says what happened to each one.",
    tags=["tags", "contacts"],
    responses=documented(200, BulkTagOut, "What happened to each contact", 400, 401, 403, 404, 415, 422),
)
def bulk_tag_contacts(tag_id: str, body: BulkTagIn) -> BulkTagOut:
    principal = principal_of(router)
    principal.require("contacts.tag")
    actor = actor_of(principal)
    outcome = tagging.bulk_tag(
        principal.workspace_id, tag_id, body.contact_ids, actor, add=body.action == "add"
    )
    return BulkTagOut(
        results=[
            BulkTagResult(contact_id=contact_id, status=status)  # type: ignore[arg-type]
            for contact_id, status in outcome.items()
        ]
    )


@router.get(
    "/v1/custom-fields",
    summary="The workspace's custom contact fields",
    tags=["contacts"],
    responses=documented(200, CustomFieldList, "Every custom field definition", 401),
)
def list_custom_fields() -> CustomFieldList:
    principal = principal_of(router)
    principal.require("custom_fields.read")
    fields = custom_fields.list_fields(principal.workspace_id)
    return CustomFieldList(items=[custom_field_out(field) for field in fields])


@router.post(
    "/v1/custom-fields",
    summary="Define a custom contact field",
    tags=["contacts"],
    status_code=201,
    responses=documented(201, CustomFieldOut, "Defined", 400, 401, 403, 409, 415, 422),
)
def create_custom_field(body: CustomFieldIn) -> CustomFieldOut:
    principal = principal_of(router)
    principal.require("custom_fields.manage")
    field = custom_fields.create_field(
        principal.workspace_id, body.key, body.label, body.type, body.options, principal.user_id
    )
    return custom_field_out(field)
