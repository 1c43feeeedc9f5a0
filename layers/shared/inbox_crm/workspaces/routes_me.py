"""GET /v1/me: who the caller is; GET /v1/members: who else works here."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from inbox_crm.http.errors_doc import documented
from inbox_crm.workspaces.members import list_members, load_membership
from inbox_crm.workspaces.permissions import allowed_actions
from inbox_crm.workspaces.principal import principal_of
from inbox_crm.workspaces.schemas import MemberList, MemberOut, MeOut, UserOut, WorkspaceOut

router = Router()


@router.get(
    "/v1/me", summary="Who am I", tags=["me"], responses=documented(200, MeOut, "The caller", 401, 403)
)
def get_me() -> MeOut:
    principal = principal_of(router)
    principal.require("me.read")
    membership = load_membership(principal.workspace_id, principal.user_id)
    workspace, user = membership.workspace, membership.user
    return MeOut(
        user=UserOut(id=user.user_id, email=user.email, name=user.name),
        workspace=WorkspaceOut(
            id=workspace.workspace_id,
            name=workspace.name,
            default_region=workspace.default_region,
            language=workspace.language,
        ),
        role=principal.role,
        permissions=allowed_actions(principal.role),
    )


@router.get(
    "/v1/members",
    summary="The workspace's active members",
    tags=["me"],
    responses=documented(200, MemberList, "Active members, by name", 401, 403),
)
def get_members() -> MemberList:
    principal = principal_of(router)
    principal.require("members.read")
    return MemberList(
        items=[
            MemberOut(id=user.user_id, email=user.email, name=user.name, role=user.role)
            for user in list_members(principal.workspace_id)
        ]
    )
