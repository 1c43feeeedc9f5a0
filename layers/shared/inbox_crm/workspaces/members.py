"""Workspaces and their members."""

from __future__ import annotations

import time
from dataclasses import dataclass

from inbox_crm.core.errors import Forbidden, MemberDisabled, NotAMember
from inbox_crm.store.models import InboxItem, User, Workspace, ws_pk


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


def list_members(workspace_id: str) -> list[User]:
    """The workspace's active members, by name (one Query on the workspace's partition)."""
    users = User.query(
        ws_pk(workspace_id), User.sk.startswith("USER#"), filter_condition=User.status == "active"
    )
    return sorted(users, key=lambda user: ((user.name or user.email).casefold(), user.user_id))


def get_workspace(workspace_id: str) -> Workspace | None:
    try:
        item = Workspace.get(*Workspace.key(workspace_id))
    except Workspace.DoesNotExist:
        return None
    return item


# ------------------------------------------------------------------ membership checks
# Every API request checks the caller's membership; one read per user per container per TTL, so a
# removed or disabled member loses access within the TTL even with a valid token.
MEMBER_TTL_SECONDS = 30.0
_MAX_CACHED_MEMBERS = 10_000
_members: dict[tuple[str, str], tuple[float, User | None]] = {}


def active_member(workspace_id: str, user_id: str) -> User:
    """The caller's user record if it is an active member; NotAMember / MemberDisabled otherwise."""
    key = (workspace_id, user_id)
    now = time.monotonic()
    cached = _members.get(key)
    if cached is None or cached[0] <= now:
        try:
            user: User | None = User.get(*User.key(workspace_id, user_id))
        except User.DoesNotExist:
            user = None
        if len(_members) >= _MAX_CACHED_MEMBERS:
            _members.clear()
        cached = _members[key] = (now + MEMBER_TTL_SECONDS, user)
    user = cached[1]
    if user is None or user.status == "removed":
        raise NotAMember("You are not a member of this workspace")
    if user.status != "active":
        raise MemberDisabled("Your access to this workspace is disabled")
    return user


def forget_members() -> None:
    _members.clear()
