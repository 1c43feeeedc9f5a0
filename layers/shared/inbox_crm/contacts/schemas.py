"""Request and response bodies of the contact, tag and custom field routes.

Phones, emails, countries and languages are checked here for shape only; the domain normalises
them (phones need the workspace's region) and answers 422 naming the field when a value is invalid.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field, StringConstraints, model_validator

from inbox_crm.contacts.custom_fields import KEY_PATTERN, MAX_OPTIONS
from inbox_crm.http.schemas import Platform, Strict, Text
from inbox_crm.inbox.schemas import ConversationOut

# Names are trimmed before their length is checked: "   " is no name.
Name = Annotated[Text, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
Phone = Annotated[Text, Field(min_length=1, max_length=40, examples=["+52 55 1234 5678"])]
Email = Annotated[Text, Field(min_length=3, max_length=254)]
CustomValue = bool | int | float | Text | None
FieldKey = Annotated[str, Field(pattern=KEY_PATTERN)]
Id = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_\-]+$")]
FieldType = Literal["text", "number", "date", "boolean", "single_select", "id"]  # custom_fields.FIELD_TYPES


class ConsentIn(Strict):
    given: bool = Field(description="The person agreed to us storing their personal data")


def _consent_given(consent: ConsentIn) -> ConsentIn:
    if not consent.given:
        raise ValueError("the person's consent is required to register them")
    return consent


class ContactFields(Strict):
    """Contact fields a person may set. Facebook IDs and Instagram usernames come from linked
    conversations; the display name and picture from the channel."""

    first_name: Name | None = None
    last_name: Name | None = None
    emails: Annotated[list[Email], Field(max_length=5)] | None = None
    primary_phone: Phone | None = None
    secondary_phones: Annotated[list[Phone], Field(max_length=5)] | None = None
    whatsapp_phone: Phone | None = None
    country: Annotated[str, Field(min_length=2, max_length=2, description="ISO 3166 alpha-2")] | None = None
    language: Annotated[str, Field(min_length=2, max_length=12, examples=["es", "es-MX"])] | None = None
    company: Annotated[Text, Field(max_length=120)] | None = None
    assignee_id: Annotated[str, Field(max_length=64)] | None = None
    consent: ConsentIn | None = None
    source: Annotated[Text, Field(min_length=1, max_length=60)] | None = None
    custom_fields: Annotated[dict[FieldKey, CustomValue], Field(max_length=50)] | None = Field(
        None, description="Values by custom field key; null removes a value"
    )

    def provided(self) -> dict[str, Any]:
        """Only the fields the client sent (null included: it clears the field)."""
        return self.model_dump(exclude_unset=True)


class ContactCreate(ContactFields):
    """A contact needs a primary phone or an email (422 otherwise)."""


class ContactPatch(ContactFields):
    version: Annotated[int, Field(ge=1)] | None = Field(
        None, description="The version you edited (or send If-Match); a stale one answers 412"
    )

    def provided(self) -> dict[str, Any]:
        return {name: value for name, value in super().provided().items() if name != "version"}


class ConversationContactFields(ContactFields):
    """Registering a conversation's sender: first name, last name and consent are required."""

    first_name: Name
    last_name: Name
    consent: Annotated[ConsentIn, AfterValidator(_consent_given)]


class ConversationContactIn(Strict):
    contact_id: Id | None = Field(None, description="Associate with this existing contact")
    contact: ConversationContactFields | None = Field(None, description="Or create the contact")

    @model_validator(mode="after")
    def _exactly_one(self) -> ConversationContactIn:
        if (self.contact_id is None) == (self.contact is None):
            raise ValueError("send either contact_id or contact")
        return self


class ConsentOut(BaseModel):
    given: bool
    recorded_by: str | None = None
    recorded_at: datetime | None = None


class IdentityOut(BaseModel):
    id: str
    channel: Platform
    account_id: str
    external_id: str = Field(description="PSID (Messenger), IGSID (Instagram) or wa_id (WhatsApp)")
    username: str | None = None
    phone: str | None = None


class ContactOut(BaseModel):
    id: str
    version: int
    first_name: str | None = None
    last_name: str | None = None
    display_name: str | None = None
    profile_pic_url: str | None = None
    emails: list[str] = Field(default_factory=list)
    primary_phone: str | None = None
    secondary_phones: list[str] = Field(default_factory=list)
    whatsapp_phone: str | None = None
    facebook_ids: list[str] = Field(default_factory=list)
    instagram_usernames: list[str] = Field(default_factory=list)
    identities: list[IdentityOut] = Field(default_factory=list)
    channels: list[Platform] = Field(default_factory=list)
    country: str | None = None
    country_manual: bool = False
    language: str | None = None
    company: str | None = None
    assignee_id: str | None = None
    consent: ConsentOut | None = None
    tags: list[str] = Field(default_factory=list, description="Tag ids (GET /v1/tags names them)")
    source: str | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)
    blocked: bool = False
    blocked_at: datetime | None = None
    created_by: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None


class ContactPage(BaseModel):
    items: list[ContactOut]
    next_cursor: str | None = None


class ContactLinkOut(BaseModel):
    created: bool = Field(description="A new contact was made from the conversation")
    contact: ContactOut
    conversation: ConversationOut


class TagIn(Strict):
    name: Annotated[Text, Field(min_length=1, max_length=50)]
    color: Annotated[str, Field(pattern=r"^#[0-9A-Fa-f]{6}$")] | None = None


class TagOut(BaseModel):
    id: str
    name: str
    color: str | None = None
    created_at: datetime | None = None


class TagList(BaseModel):
    items: list[TagOut]


class ContactTagIn(Strict):
    tag_id: Id


class BulkTagIn(Strict):
    contact_ids: Annotated[list[Id], Field(min_length=1, max_length=100)]
    action: Literal["add", "remove"]


class BulkTagResult(BaseModel):
    contact_id: str
    status: Literal["added", "removed", "unchanged", "not_found", "limit_reached", "conflict"]


class BulkTagOut(BaseModel):
    results: list[BulkTagResult]


class CustomFieldIn(Strict):
    key: FieldKey = Field(description="Stable key of the value in contacts' custom_fields")
    label: Annotated[Text, Field(min_length=1, max_length=80)]
    type: FieldType
    options: (
        Annotated[list[Annotated[Text, Field(min_length=1, max_length=80)]], Field(max_length=MAX_OPTIONS)]
        | None
    ) = None


class CustomFieldOut(BaseModel):
    key: str
    label: str
    type: FieldType
    options: list[str] | None = None
    created_at: datetime | None = None


class CustomFieldList(BaseModel):
    items: list[CustomFieldOut]
