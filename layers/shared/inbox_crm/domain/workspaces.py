"""Workspaces and their members."""

from __future__ import annotations

from dataclasses import dataclass

from inbox_crm.errors import Forbidden
from inbox_crm.store.models import InboxItem, User, Workspace


@dataclass(frozen=True)
class Membership:
    workspace: Workspace
    user: User


def load_membership(workspace_id: str, user_id: str) -> Membership:
    """The caller's workspace and user record, in one consistent BatchGetItem."""
    found = {
        item.sk: item
        for item in InboxItem.batch_get(
            [Workspace.key(workspace_id), User.key(workspace_id, user_id)], consistent_read=True
        )
    }
    workspace = found.get(Workspace.key(workspace_id)[1])
    user = found.get(User.key(workspace_id, user_id)[1])
    if not isinstance(workspace, Workspace) or not isinstance(user, User):
        raise Forbidden("You are not a member of this workspace")
    return Membership(workspace=workspace, user=user)


def get_workspace(workspace_id: str) -> Workspace | None:
    try:
        item = Workspace.get(*Workspace.key(workspace_id))
    except Workspace.DoesNotExist:
        return None
    return item
