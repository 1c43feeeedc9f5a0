"""Applying field changes to a contact: validated and normalised, every failing field named at once."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import Any, TypeVar

from inbox_crm.contacts import custom_fields
from inbox_crm.contacts.actors import Actor
from inbox_crm.contacts.values import (
    InvalidFields,
    country_of,
    normalise_country,
    normalise_email,
    normalise_language,
    normalise_phone,
)
from inbox_crm.core.timeutil import utcnow
from inbox_crm.store.models import Consent, Contact, CustomField, User
from inbox_crm.workspaces.members import get_workspace

MAX_EMAILS = 5
MAX_SECONDARY_PHONES = 5
_DEFAULT_REGION = "MX"

T = TypeVar("T")


class Inputs:
    """What validating a change may need, read at most once and only when needed."""

    def __init__(self, workspace_id: str) -> None:
        self.workspace_id = workspace_id

    @cached_property
    def region(self) -> str:
        workspace = get_workspace(self.workspace_id)
        return workspace.default_region if workspace else _DEFAULT_REGION

    @cached_property
    def field_definitions(self) -> list[CustomField]:
        return custom_fields.list_fields(self.workspace_id)

    def is_member(self, user_id: str) -> bool:
        try:
            User.get(*User.key(self.workspace_id, user_id))
        except User.DoesNotExist:
            return False
        return True


def _text(value: Any) -> str | None:
    text = " ".join(str(value).split()) if value is not None else ""
    return text or None


class _FieldErrors:
    """Collects every failing field of a request, so the answer names them all at once."""

    def __init__(self) -> None:
        self.details: list[dict[str, Any]] = []

    def check(self, normalise: Callable[..., T], *args: Any) -> T | None:
        try:
            return normalise(*args)
        except InvalidFields as error:
            self.details.extend(error.details)
            return None


def apply_fields(contact: Contact, fields: dict[str, Any], inputs: Inputs, actor: Actor) -> None:
    """Validate and normalise the given fields onto the contact; all failing fields in one error."""
    errors = _FieldErrors()
    for name in ("first_name", "last_name", "company", "source"):
        if name in fields:
            setattr(contact, name, _text(fields[name]))
    if "emails" in fields:
        emails = [
            errors.check(normalise_email, raw, ("emails", index))
            for index, raw in enumerate(fields["emails"] or [])
        ]
        contact.emails = list(dict.fromkeys(email for email in emails if email)) or None
    for name in ("primary_phone", "whatsapp_phone"):
        if name in fields:
            raw = fields[name]
            setattr(
                contact, name, errors.check(normalise_phone, raw, inputs.region, (name,)) if raw else None
            )
    if "secondary_phones" in fields:
        phones = [
            errors.check(normalise_phone, raw, inputs.region, ("secondary_phones", index))
            for index, raw in enumerate(fields["secondary_phones"] or [])
        ]
        contact.secondary_phones = list(dict.fromkeys(phone for phone in phones if phone)) or None
    if "country" in fields:
        raw = fields["country"]
        contact.country_manual = raw is not None
        contact.country = errors.check(normalise_country, raw, ("country",)) if raw else None
    if "language" in fields:
        raw = fields["language"]
        contact.language = errors.check(normalise_language, raw, ("language",)) if raw else None
    if "assignee_id" in fields:
        assignee = fields["assignee_id"]
        if assignee and not inputs.is_member(assignee):
            errors.details.append(
                {"loc": ["assignee_id"], "msg": "no such user in this workspace", "type": "unknown"}
            )
        contact.assignee_id = assignee or None
    if "consent" in fields:
        _apply_consent(contact, fields["consent"], actor)
    if fields.get("custom_fields"):
        values = errors.check(
            custom_fields.validate_values, inputs.field_definitions, fields["custom_fields"]
        )
        if values is not None:
            merged = {**(contact.custom_fields.as_dict() if contact.custom_fields else {}), **values}
            stored = {key: value for key, value in merged.items() if value is not None}
            contact.custom_fields = stored or None
    for name, most in (("emails", MAX_EMAILS), ("secondary_phones", MAX_SECONDARY_PHONES)):
        if len(getattr(contact, name) or []) > most:
            errors.details.append({"loc": [name], "msg": f"at most {most}", "type": "too_long"})
    if errors.details:
        raise InvalidFields(errors.details)
    tidy(contact)


def _apply_consent(contact: Contact, consent: dict[str, Any] | None, actor: Actor) -> None:
    if consent is None:
        contact.consent = None
        return
    given = bool(consent.get("given"))
    if contact.consent is not None and contact.consent.given == given:
        return  # unchanged: keep who recorded it and when
    contact.consent = Consent(given=given, recorded_by=actor.user_id, recorded_at=utcnow())


def tidy(contact: Contact) -> None:
    """Derived values: secondary phones never repeat the primary; the country follows the primary
    phone until a person sets it."""
    if contact.secondary_phones:
        contact.secondary_phones = [
            phone for phone in contact.secondary_phones if phone != contact.primary_phone
        ] or None
    if not contact.country_manual:
        contact.country = country_of(contact.primary_phone)


def check_identified(contact: Contact) -> None:
    """The seeds' rule: a primary phone or an email identifies a contact, unless a channel identity
    (the Messenger / Instagram sender it was created from) does."""
    if contact.primary_phone or contact.emails or contact.identities:
        return
    message = "a contact needs a primary phone or an email"
    raise InvalidFields(
        [
            {"loc": ["primary_phone"], "msg": message, "type": "missing"},
            {"loc": ["emails"], "msg": message, "type": "missing"},
        ]
    )
