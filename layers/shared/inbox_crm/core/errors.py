"""Domain exceptions. The API maps them to HTTP statuses in one place (inbox_crm.api.app)."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    code = "error"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class InvalidInput(DomainError):
    code = "invalid_input"


class Unauthorized(DomainError):
    code = "unauthorized"


class Forbidden(DomainError):
    code = "forbidden"


class NotAMember(Forbidden):
    """The caller is not (or no longer) a member of the workspace its token names."""

    code = "not_a_member"


class MemberDisabled(Forbidden):
    code = "member_disabled"


class ChannelNotVerified(Forbidden):
    """Meta did not confirm that the token can act for the account (whatever the account's state)."""

    code = "channel_not_verified"


class NotFound(DomainError):
    code = "not_found"


class Conflict(DomainError):
    code = "conflict"


class ChannelUnavailable(Conflict):
    """A proven account that cannot join this workspace; says nothing about where it is connected."""

    code = "channel_unavailable"


class ChannelAlreadyConnected(Conflict):
    code = "channel_already_connected"


class Unavailable(DomainError):
    """A dependency (Meta) could not answer; retrying later may succeed."""

    code = "unavailable"


class Unprocessable(DomainError):
    """Well-formed input we will not take (answered 422); subclasses name a precise code."""

    code = "unprocessable"


class PreconditionFailed(DomainError):
    code = "precondition_failed"


class IdempotencyKeyReused(DomainError):
    """The same Idempotency-Key with a different request body (422)."""

    code = "idempotency_key_reused"
