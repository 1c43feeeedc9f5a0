"""Every API request checks that the caller is still an active member of the token's workspace, with
the role the workspace gives it now: a token outlives a removal, a member's access does not."""

from __future__ import annotations

import pytest

from inbox_crm.store.models import User
from inbox_crm.workspaces import members as workspaces
from support.api import ApiClient
from support.world import World


def _set_status(world: World, name: str, status: str) -> None:
    member = world[name]
    User(*User.key(member.workspace_id, member.user_id)).update(actions=[User.status.set(status)])


def _later(monkeypatch: pytest.MonkeyPatch) -> None:
    """Move the containers' clock past the membership cache."""
    now = workspaces.time.monotonic() + workspaces.MEMBER_TTL_SECONDS + 1
    monkeypatch.setattr(workspaces.time, "monotonic", lambda: now)


@pytest.mark.parametrize(("status", "code"), [("removed", "not_a_member"), ("disabled", "member_disabled")])
def test_a_removed_or_disabled_member_is_refused_with_a_code(
    api: ApiClient, world: World, monkeypatch: pytest.MonkeyPatch, status: str, code: str
) -> None:
    assert api.get("/v1/conversations", as_="alpha_agent").status == 200
    _set_status(world, "alpha_agent", status)
    _later(monkeypatch)
    reply = api.get("/v1/conversations", as_="alpha_agent")
    assert reply.status == 403
    assert reply.json()["error"]["code"] == code
    assert api.get("/v1/conversations", as_="alpha_manager").status == 200


def test_a_deleted_user_with_a_valid_token_is_not_a_member(api: ApiClient, world: World) -> None:
    member = world["beta_owner"]
    User(*User.key(member.workspace_id, member.user_id)).delete()
    reply = api.get("/v1/me", as_="beta_owner")
    assert reply.status == 403
    assert reply.json()["error"]["code"] == "not_a_member"


def test_a_token_for_another_workspace_is_not_membership(api: ApiClient, world: World) -> None:
    # The token's claims name ws_beta, but this user is a member of ws_alpha only.
    intruder = world["alpha_owner"]
    forged = type(intruder)("ws_beta", intruder.user_id, "owner", intruder.email)
    reply = api.get("/v1/contacts", as_=forged)
    assert reply.status == 403
    assert reply.json()["error"]["code"] == "not_a_member"


def test_the_role_is_the_workspace_s_not_the_token_s(api: ApiClient, world: World) -> None:
    # Demoted to agent: a token still saying manager no longer opens manager routes.
    member = world["alpha_manager"]
    User(*User.key(member.workspace_id, member.user_id)).update(actions=[User.role.set("agent")])
    assert api.get("/v1/webhooks/unrouted", as_="alpha_manager").status == 403
    assert api.get("/v1/me", as_="alpha_manager").json()["role"] == "agent"


def test_membership_is_read_once_per_container_until_it_expires(
    api: ApiClient, world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = []
    original = User.get.__func__  # type: ignore[attr-defined]

    def counting_get(cls: type[User], *args: object, **kwargs: object) -> User:
        reads.append(args)
        return original(cls, *args, **kwargs)

    monkeypatch.setattr(User, "get", classmethod(counting_get))
    for _ in range(3):
        assert api.get("/v1/conversations", as_="alpha_agent").status == 200
    assert len(reads) == 1
    _later(monkeypatch)
    assert api.get("/v1/conversations", as_="alpha_agent").status == 200
    assert len(reads) == 2


def test_members_lists_the_workspace_s_active_members_for_any_role(api: ApiClient, world: World) -> None:
    """Assigning a conversation to a teammate needs the team: every role may list it, own workspace only."""
    _set_status(world, "alpha_manager", "removed")
    reply = api.get("/v1/members", as_="alpha_agent")
    assert reply.status == 200
    listed = {member["id"]: member for member in reply.json()["items"]}
    assert world["alpha_agent"].user_id in listed
    assert world["alpha_owner"].user_id in listed
    assert world["alpha_manager"].user_id not in listed  # removed members cannot be assigned
    assert world["beta_owner"].user_id not in listed
    assert listed[world["alpha_owner"].user_id]["role"] == "owner"
    assert set(listed[world["alpha_agent"].user_id]) == {"id", "email", "name", "role"}
    assert api.get("/v1/members", as_=None).status == 401
