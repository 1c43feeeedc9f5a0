"""The contract of every domain event: one pydantic model per EventBridge detail-type.

A detail is what the bus carries: the event's data, ``workspace_id`` and ``metadata``. Publishers do
not build these models: ``events.outbox`` checks every staged detail against the contract of its
detail-type (``check``), so a drift fails at the publisher, in its tests, instead of as a KeyError
in a consumer's dead-letter queue. Consumers parse what they receive with the same models
(Powertools Parser, events/consumers.py). docs/EVENTS.md is generated from this module
(``make events``).

Fields are exactly those the bus receives (``extra="forbid"``): a renamed or new field must be
written here first. Times stay ISO strings, as sent. Optional fields may be absent (ingestion drops
empty values) or null.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

Channel = Literal["messenger", "instagram", "whatsapp"]


class EventMetadata(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    event_id: str = Field(description="derived from the cause: consumers are idempotent on it")
    correlation_id: str | None = Field(None, description="the API or webhook request that started it")
    occurred_at: str = Field(description="ISO 8601, UTC")
    caused_by_flow: str | None = Field(None, description="the flow whose action caused it (loop guard)")


class EventDetail(BaseModel):
    """What every detail carries. Subclasses name their detail-type and add its data."""

    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)

    DETAIL_TYPE: ClassVar[str]

    workspace_id: str
    metadata: EventMetadata


# ------------------------------------------------------------------ messages (ingest)


class _MessageData(EventDetail):
    conversation_id: str
    message_id: str
    identity_id: str
    contact_id: str | None = None
    channel: Channel
    channel_id: str
    account_id: str
    kind: str = Field(description="text | media | postback | referral | comment | …")
    text: str | None = None
    payload: Any = Field(None, description="a button's, quick reply's or postback's payload, as sent")
    post_id: str | None = None
    message_sk: str
    media_ids: list[str] | None = Field(None, description="WhatsApp media to copy (MediaFunction)")
    comment_id: str | None = None
    is_reply: bool | None = None


class MessageReceived(_MessageData):
    """A person's message (or a postback, referral…) stored in its conversation."""

    DETAIL_TYPE = "MessageReceived"


class CommentReceived(_MessageData):
    """A comment on a Page or Instagram post, stored in the post's conversation."""

    DETAIL_TYPE = "CommentReceived"


class ConversationOpened(_MessageData):
    """A direct conversation was opened (first message) or reopened by a person's message."""

    DETAIL_TYPE = "ConversationOpened"


class IdentityCreated(EventDetail):
    """A new sender on a channel account (its profile is fetched by EnrichFunction)."""

    DETAIL_TYPE = "IdentityCreated"

    identity_id: str
    channel: Channel
    channel_id: str
    account_id: str


class IdentityMoved(EventDetail):
    """A WhatsApp number change: the conversation now belongs to the new identity."""

    DETAIL_TYPE = "IdentityMoved"

    old_identity_id: str
    identity_id: str
    conversation_id: str | None = None


class MessageStatusChanged(EventDetail):
    """Meta reported a new status of an outbound message (sent, delivered, read, failed)."""

    DETAIL_TYPE = "MessageStatusChanged"

    conversation_id: str
    message_id: str
    status: str
    channel: Channel
    error_code: int | None = None


# ------------------------------------------------------------------ conversations


class _ConversationChange(EventDetail):
    conversation_id: str
    channel: Channel
    by: str = Field(description="a user id, or a flow id")


class ConversationClosed(_ConversationChange):
    DETAIL_TYPE = "ConversationClosed"


class ConversationReopened(_ConversationChange):
    DETAIL_TYPE = "ConversationReopened"


class ConversationAssigned(_ConversationChange):
    DETAIL_TYPE = "ConversationAssigned"

    assignee_id: str | None = Field(description="null: unassigned")


# ------------------------------------------------------------------ contacts


class _ContactChange(EventDetail):
    contact_id: str
    version: int = Field(description="the contact's version as written")
    by: str = Field(description='a user id, "system", or a flow id')


class ContactCreated(_ContactChange):
    """A contact was created by hand, or from a conversation's sender (then with the link's fields)."""

    DETAIL_TYPE = "ContactCreated"

    source: str | None = None
    identity_id: str | None = None
    channel: Channel | None = None
    conversation_id: str | None = None
    conversation_ids: list[str] | None = None


class ContactUpdated(_ContactChange):
    DETAIL_TYPE = "ContactUpdated"

    changed: list[str] = Field(description="the contact's attributes that changed")


class ContactDeleted(_ContactChange):
    DETAIL_TYPE = "ContactDeleted"


class ContactAssociated(_ContactChange):
    """A sender's identity was linked to the contact (by a person, a flow, or automatically)."""

    DETAIL_TYPE = "ContactAssociated"

    identity_id: str
    channel: Channel
    conversation_ids: list[str]
    conversation_id: str | None = Field(None, description="the conversation it was linked from")
    automatic: bool | None = Field(None, description="a WhatsApp auto-link by phone")


class ContactUnlinked(_ContactChange):
    DETAIL_TYPE = "ContactUnlinked"

    identity_id: str
    channel: Channel
    conversation_ids: list[str]


class ContactBlocked(_ContactChange):
    DETAIL_TYPE = "ContactBlocked"

    conversation_ids: list[str]


class ContactUnblocked(_ContactChange):
    DETAIL_TYPE = "ContactUnblocked"

    conversation_ids: list[str]


class TagAdded(_ContactChange):
    DETAIL_TYPE = "TagAdded"

    tag_id: str
    tag_name: str


class TagRemoved(_ContactChange):
    DETAIL_TYPE = "TagRemoved"

    tag_id: str
    tag_name: str | None = Field(description="null: the removal does not read the tag")


class ContactsMerged(_ContactChange):
    """The absorbed contact was merged into the survivor (``contact_id``)."""

    DETAIL_TYPE = "ContactsMerged"

    merge_id: str
    survivor_id: str
    absorbed_id: str
    identity_ids: list[str]
    conversation_ids: list[str]


class ContactsUnmerged(_ContactChange):
    DETAIL_TYPE = "ContactsUnmerged"

    merge_id: str
    survivor_id: str
    absorbed_id: str
    identity_ids: list[str]


# ------------------------------------------------------------------ flows and channels


class FlowActionRequested(EventDetail):
    """A flow run asks the function of its step's action (routed by ``action``) to perform it."""

    DETAIL_TYPE = "FlowActionRequested"

    run_id: str
    path: str = Field(description="the step's path in the flow definition")
    action: str = Field(description="the step type: the rules in template.yaml route on it")
    flow_id: str
    flow_version: int
    conversation_id: str | None = None
    contact_id: str | None = None


class ChannelWentSilent(EventDetail):
    """A channel account stopped receiving webhooks (the scheduler's watch)."""

    DETAIL_TYPE = "ChannelWentSilent"

    channel_id: str
    channel: Channel
    account_id: str
    last_webhook_at: str | None = None


CONTRACTS: dict[str, type[EventDetail]] = {
    model.DETAIL_TYPE: model
    for model in (
        MessageReceived,
        CommentReceived,
        ConversationOpened,
        IdentityCreated,
        IdentityMoved,
        MessageStatusChanged,
        ConversationClosed,
        ConversationReopened,
        ConversationAssigned,
        ContactCreated,
        ContactUpdated,
        ContactDeleted,
        ContactAssociated,
        ContactUnlinked,
        ContactBlocked,
        ContactUnblocked,
        TagAdded,
        TagRemoved,
        ContactsMerged,
        ContactsUnmerged,
        FlowActionRequested,
        ChannelWentSilent,
    )
}


class ContractViolation(ValueError):
    """A detail that does not match the contract of its detail-type (or a detail-type without one)."""


def contract_for(detail_type: str) -> type[EventDetail]:
    try:
        return CONTRACTS[detail_type]
    except KeyError:
        raise ContractViolation(f"no contract for detail-type {detail_type!r}") from None


def check(detail_type: str, detail: dict[str, Any]) -> EventDetail:
    """The detail as its contract reads it; ContractViolation when it does not match."""
    try:
        return contract_for(detail_type).model_validate(detail)
    except ValidationError as error:
        raise ContractViolation(f"{detail_type} does not match its contract: {error}") from error
