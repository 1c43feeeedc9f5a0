"""Local dev tokens: HS256 JWTs shaped like the Cognito ID tokens the HTTP API's JWT authorizer accepts.

The gateway verifies exactly what ``mint_token`` signs, so ``inbox-local token`` works without the
stack running: a token is a pure function of the secret (LOCAL_JWT_SECRET) and the claims.
"""

from __future__ import annotations

import os
import time
from typing import Any

import jwt

from inbox_local import demo

# A development value, documented on purpose: it only opens the loopback stack. 32+ bytes, as
# PyJWT recommends for HS256 keys.
DEFAULT_JWT_SECRET = "inbox-local-dev-jwt-secret-not-for-aws"
ISSUER = "inbox-local"
AUDIENCE = "inbox-local-web"
ALGORITHM = "HS256"
ROLES = ("owner", "manager", "agent")


def jwt_secret() -> str:
    return os.environ.get("LOCAL_JWT_SECRET") or DEFAULT_JWT_SECRET


def mint_token(
    role: str = "owner",
    *,
    workspace_id: str = demo.DEMO_WORKSPACE_ID,
    user_id: str | None = None,
    email: str | None = None,
    hours: float = 12,
    secret: str | None = None,
    now: float | None = None,
) -> str:
    """A signed token for the seeded user of that role (or any user id given), valid for ``hours``."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}")
    seeded = demo.demo_user(workspace_id, role)
    if user_id is None:
        user_id = seeded.user_id if seeded else f"usr_{workspace_id.removeprefix('ws_')}_{role}"
    if email is None:
        same_user = seeded is not None and seeded.user_id == user_id
        email = seeded.email if same_user and seeded else f"{user_id.removeprefix('usr_')}@local.test"
    issued_at = int(now if now is not None else time.time())
    claims = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": user_id,
        "email": email,
        "custom:workspace_id": workspace_id,
        "custom:role": role,
        "cognito:username": user_id,
        "token_use": "id",
        "iat": issued_at,
        "auth_time": issued_at,
        "exp": issued_at + int(hours * 3600),
    }
    return jwt.encode(claims, secret or jwt_secret(), algorithm=ALGORITHM)


def verify_token(token: str, secret: str | None = None) -> dict[str, Any]:
    """The token's claims if signature, issuer, audience and expiry hold; jwt.InvalidTokenError otherwise."""
    return jwt.decode(
        token,
        secret or jwt_secret(),
        algorithms=[ALGORITHM],
        audience=AUDIENCE,
        issuer=ISSUER,
        options={"require": ["exp", "iss", "aud", "sub"]},
    )
