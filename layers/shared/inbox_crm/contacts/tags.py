"""Tag definitions of a workspace. Contacts hold tag ids; adding and removing them is in contacts.py."""

from __future__ import annotations

from pynamodb.exceptions import PutError

from inbox_crm.contacts.values import InvalidFields, fold, looks_like_id
from inbox_crm.core.errors import Conflict, NotFound
from inbox_crm.core.ids import stable_id
from inbox_crm.core.timeutil import utcnow
from inbox_crm.store.models import Tag, ws_pk
from inbox_crm.store.transactions import condition_failed

MAX_TAGS = 500


def tag_id_for(workspace_id: str, name: str) -> str:
    """One tag per name, whatever its case, accents or spacing: "VIP", "vip " and "Vip" are one."""
    return stable_id("tag", workspace_id, " ".join(fold(name).split()))


def list_tags(workspace_id: str) -> list[Tag]:
    tags = Tag.query(ws_pk(workspace_id), Tag.sk.startswith("TAG#"), consistent_read=True)
    return sorted((tag for tag in tags if isinstance(tag, Tag)), key=lambda tag: fold(tag.name))


def get_tag(workspace_id: str, tag_id: str) -> Tag:
    if not looks_like_id(tag_id):
        raise NotFound("No such tag")
    try:
        return Tag.get(*Tag.key(workspace_id, tag_id), consistent_read=True)
    except Tag.DoesNotExist:
        raise NotFound("No such tag") from None


def create_tag(workspace_id: str, name: str, color: str | None, created_by: str) -> Tag:
    display = " ".join(name.split())
    if not display:
        raise InvalidFields.one(("name",), "a tag needs a name", "name")
    if len(list_tags(workspace_id)) >= MAX_TAGS:
        raise Conflict(f"A workspace can have at most {MAX_TAGS} tags")
    tag_id = tag_id_for(workspace_id, display)
    tag = Tag(
        *Tag.key(workspace_id, tag_id),
        workspace_id=workspace_id,
        tag_id=tag_id,
        name=display,
        color=color,
        created_by=created_by,
        created_at=utcnow(),
    )
    try:
        tag.save(condition=Tag.pk.does_not_exist())
    except PutError as error:
        if not condition_failed(error):
            raise
        raise Conflict("A tag with this name already exists", {"tag_id": tag_id}) from None
    return tag
