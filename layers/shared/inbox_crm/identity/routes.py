"""Duplicates: merge suggestions (workspace-wide and per contact), merging, undo and the history.

Rule (docs/PERMISSIONS.md): everyone may merge and undo their own merges; undoing someone else's
merge, and reading the history, is for owners and managers."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from inbox_crm.contacts.actors import actor_of
from inbox_crm.contacts.presenters import contact_out
from inbox_crm.contacts.reads import get_contact
from inbox_crm.http.errors_doc import documented
from inbox_crm.identity import accept, merge, merge_undo, suggestions
from inbox_crm.identity.presenters import merge_out, suggestion_out
from inbox_crm.identity.schemas import (
    AcceptIn,
    AcceptOut,
    MergeIn,
    MergeOut,
    MergePage,
    MergeResultOut,
    SuggestionPage,
)
from inbox_crm.workspaces.permissions import Role
from inbox_crm.workspaces.principal import principal_of

router = Router()


@router.get(
    "/v1/merge-suggestions",
    summary="Possible duplicates in the workspace (the dashboard)",
    tags=["merges"],
    responses=documented(200, SuggestionPage, "A page of suggestions", 400, 401, 403),
)
def list_suggestions(
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> SuggestionPage:
    principal = principal_of(router)
    principal.require("merge_suggestions.read")
    items, next_cursor = suggestions.list_suggestions(principal.workspace_id, limit, cursor)
    return SuggestionPage(items=[suggestion_out(item) for item in items], next_cursor=next_cursor)


@router.get(
    "/v1/contacts/<contact_id>/merge-suggestions",
    summary="A contact's possible duplicates, with the shared values marked",
    tags=["merges", "contacts"],
    responses=documented(200, SuggestionPage, "The contact's suggestions", 401, 403, 404),
)
def contact_suggestions(contact_id: str) -> SuggestionPage:
    principal = principal_of(router)
    principal.require("merge_suggestions.read")
    get_contact(principal.workspace_id, contact_id)
    items = suggestions.contact_suggestions(principal.workspace_id, contact_id)
    return SuggestionPage(items=[suggestion_out(item) for item in items])


@router.post(
    "/v1/merge-suggestions/<suggestion_id>/dismiss",
    summary="Dismiss a suggestion: the pair is not suggested again",
    tags=["merges"],
    status_code=204,
    responses=documented(204, None, "Dismissed", 401, 403, 404),
)
def dismiss_suggestion(suggestion_id: str) -> None:
    principal = principal_of(router)
    principal.require("merge_suggestions.dismiss")
    suggestions.dismiss(principal.workspace_id, suggestion_id, principal.user_id)


@router.post(
    "/v1/merge-suggestions/<suggestion_id>/accept",
    summary="Accept a suggestion: merge the pair, or associate / merge the conversation's sender",
    tags=["merges"],
    responses=documented(200, AcceptOut, "Done", 400, 401, 403, 404, 409, 415, 422),
)
def accept_suggestion(suggestion_id: str, body: AcceptIn) -> AcceptOut:
    principal = principal_of(router)
    principal.require("contacts.merge")
    done = accept.accept_suggestion(
        principal.workspace_id, suggestion_id, actor_of(principal), body.survivor_id
    )
    return AcceptOut(
        outcome=done.outcome,  # type: ignore[arg-type]
        merge=merge_out(done.merge) if done.merge else None,
        contact=contact_out(done.contact),
    )


@router.post(
    "/v1/contacts/<contact_id>/merge",
    summary="Merge another contact into this one (undoable)",
    description="This contact survives: it keeps its values and fills gaps from the other (per-field "
    "choices override); phones, emails, channels, conversations, tags and custom fields are united. "
    "409 for the same contact, a deleted / merged / blocked one, or two different senders on one "
    "channel account.",
    tags=["merges", "contacts"],
    responses=documented(200, MergeResultOut, "Merged", 400, 401, 403, 404, 409, 415, 422),
)
def merge_contact(contact_id: str, body: MergeIn) -> MergeResultOut:
    principal = principal_of(router)
    principal.require("contacts.merge")
    result = merge.merge_contacts(
        principal.workspace_id,
        contact_id,
        body.other_contact_id,
        actor_of(principal),
        dict(body.fields) if body.fields else None,
    )
    return MergeResultOut(merge=merge_out(result.merge), contact=contact_out(result.survivor))


@router.post(
    "/v1/merges/<merge_id>/undo",
    summary="Undo a merge: both contacts as they were, each channel and conversation back",
    tags=["merges"],
    responses=documented(200, MergeResultOut, "Undone", 401, 403, 404, 409),
)
def undo_merge(merge_id: str) -> MergeResultOut:
    principal = principal_of(router)
    principal.require("merges.undo")
    result = merge_undo.undo_merge(
        principal.workspace_id,
        merge_id,
        actor_of(principal),
        may_undo_others=principal.role in (Role.OWNER, Role.MANAGER),
    )
    return MergeResultOut(merge=merge_out(result.merge), contact=contact_out(result.survivor))


@router.get(
    "/v1/merges",
    summary="Merge history: who merged what, when (newest first)",
    tags=["merges"],
    responses=documented(200, MergePage, "A page of merges", 400, 401, 403),
)
def list_merges(
    limit: Annotated[int, Query(ge=1, le=100)] = 25,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> MergePage:
    principal = principal_of(router)
    principal.require("merges.read")
    items, next_cursor = merge.list_merges(principal.workspace_id, limit, cursor)
    return MergePage(items=[merge_out(item) for item in items], next_cursor=next_cursor)


@router.get(
    "/v1/merges/<merge_id>",
    summary="One merge",
    tags=["merges"],
    responses=documented(200, MergeOut, "The merge", 401, 403, 404),
)
def get_merge(merge_id: str) -> MergeOut:
    principal = principal_of(router)
    principal.require("merges.read")
    return merge_out(merge.get_merge(principal.workspace_id, merge_id))
