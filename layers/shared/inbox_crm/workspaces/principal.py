"""The caller: the user the JWT authorizer (Cognito in AWS, the local gateway locally) vouched for,
checked against the workspace's members on every request (a token outlives a removal)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inbox_crm.core.errors import Unauthorized
from inbox_crm.core.observability import logger
from inbox_crm.workspaces.members import active_member
from inbox_crm.workspaces.permissions import Role, require

WORKSPACE_CLAIM = "custom:workspace_id"
ROLE_CLAIM = "custom:role"


@dataclass(frozen=True)
class Principal:
    user_id: str
    workspace_id: str
    role: str
    email: str | None = None

    def require(self, action: str) -> None:
        require(self.role, action)


def principal_from_claims(claims: dict[str, Any] | None) -> Principal:
    claims = claims or {}
    user_id = claims.get("sub")
    workspace_id = claims.get(WORKSPACE_CLAIM)
    role = claims.get(ROLE_CLAIM)
    if not user_id or not workspace_id or role not in {r.value for r in Role}:
        raise Unauthorized("The token does not name a user, workspace and role")
    return Principal(
        user_id=str(user_id), workspace_id=str(workspace_id), role=str(role), email=claims.get("email")
    )


def principal_of(router: Any) -> Principal:
    """The caller of the request a Powertools router (or the resolver) is handling: an active member
    of the token's workspace, with the role the workspace gives it now (not the token's)."""
    event = router.current_event
    claimed = principal_from_claims(event.request_context.authorizer.jwt_claim)
    member = active_member(claimed.workspace_id, claimed.user_id)
    if member.role not in {r.value for r in Role}:
        raise Unauthorized("The member has no known role")
    logger.append_keys(workspace_id=claimed.workspace_id, user_id=claimed.user_id)
    return Principal(
        user_id=claimed.user_id, workspace_id=claimed.workspace_id, role=member.role, email=claimed.email
    )
