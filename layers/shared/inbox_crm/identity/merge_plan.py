"""What a merge would make of two contacts: the survivor's values (it keeps its own, fills gaps from
the other, per-field choices override) and the reasons a merge is refused. Reads and writes nothing."""

from __future__ import annotations

from typing import Any

from inbox_crm.contacts.commit import clone
from inbox_crm.contacts.fields import MAX_EMAILS, MAX_SECONDARY_PHONES
from inbox_crm.contacts.index import contact_phones
from inbox_crm.contacts.linking import MAX_IDENTITIES
from inbox_crm.contacts.tagging import MAX_TAGS_PER_CONTACT
from inbox_crm.contacts.values import InvalidFields, country_of
from inbox_crm.core.errors import Conflict
from inbox_crm.store.models import Consent, Contact

MERGEABLE_FIELDS = (
    "first_name",
    "last_name",
    "display_name",
    "profile_pic_url",
    "primary_phone",
    "whatsapp_phone",
    "country",
    "language",
    "company",
    "assignee_id",
    "consent",
)


def validate_choices(fields: dict[str, str] | None) -> dict[str, str]:
    choices = dict(fields or {})
    errors = []
    for name, side in choices.items():
        known = name in MERGEABLE_FIELDS or (name.startswith("custom_fields.") and len(name) > 14)
        if not known:
            errors.append({"loc": ["fields", name], "msg": "not a mergeable field", "type": "unknown"})
        elif side not in ("survivor", "other"):
            errors.append({"loc": ["fields", name], "msg": "survivor or other", "type": "choice"})
    if errors:
        raise InvalidFields(errors)
    return choices


def merged_values(survivor: Contact, other: Contact, choices: dict[str, str]) -> Contact:
    """The survivor keeps its values and fills gaps from the other; a per-field "other" takes the
    other's value when it has one. Phones, emails, identities, tags and custom fields are united:
    a phone that is not the chosen primary or WhatsApp phone becomes a secondary phone."""
    after = clone(survivor)

    def pick(name: str) -> Any:
        mine, theirs = getattr(survivor, name), getattr(other, name)
        if choices.get(name) == "other" and theirs is not None:
            return theirs
        return mine if mine is not None else theirs

    for name in ("first_name", "last_name", "display_name", "profile_pic_url", "language", "company"):
        setattr(after, name, pick(name))
    after.assignee_id = pick("assignee_id")
    consent = pick("consent")
    after.consent = Consent(**consent.as_dict()) if consent is not None else None
    after.primary_phone = pick("primary_phone")
    after.whatsapp_phone = pick("whatsapp_phone")
    everything = [phone for phone, _ in contact_phones(survivor)] + [
        phone for phone, _ in contact_phones(other)
    ]
    after.secondary_phones = [
        phone
        for phone in dict.fromkeys(everything)
        if phone not in (after.primary_phone, after.whatsapp_phone)
    ] or None
    after.emails = list(dict.fromkeys([*(survivor.emails or []), *(other.emails or [])])) or None
    after.tags = list(dict.fromkeys([*(survivor.tags or []), *(other.tags or [])])) or None
    mine = survivor.custom_fields.as_dict() if survivor.custom_fields else {}
    theirs = other.custom_fields.as_dict() if other.custom_fields else {}
    custom = {**theirs, **mine}
    for name, side in choices.items():
        key = name.removeprefix("custom_fields.")
        if name.startswith("custom_fields.") and side == "other" and key in theirs:
            custom[key] = theirs[key]
    after.custom_fields = custom or None
    after.identities = [*(survivor.identities or []), *(other.identities or [])] or None
    wanted = choices.get("country") == "other" or survivor.country is None
    if wanted and other.country is not None:
        after.country, after.country_manual = other.country, other.country_manual
    if not after.country_manual:
        after.country = country_of(after.primary_phone)
    return after


def check_mergeable(survivor: Contact, other: Contact, after: Contact) -> None:
    for contact, role in ((survivor, "survivor"), (other, "other")):
        state = (
            "deleted"
            if contact.deleted
            else "merged"
            if contact.merged_into
            else "blocked"
            if contact.blocked
            else None
        )
        if state:
            hint = " (unblock it first)" if state == "blocked" else ""
            raise Conflict(
                f"The {role} contact is {state}{hint}",
                {"contact_id": contact.contact_id, "state": state, "merged_into": contact.merged_into},
            )
    conflicts = [
        {
            "channel": mine.platform,
            "account_id": mine.account_id,
            "identity_ids": [mine.identity_id, theirs.identity_id],
        }
        for mine in survivor.identities or []
        for theirs in other.identities or []
        if mine.platform == theirs.platform
        and mine.account_id == theirs.account_id
        and mine.external_id != theirs.external_id
    ]
    if conflicts:
        raise Conflict(
            "Both contacts have a different sender on the same channel account: they are likely two "
            "people, so they are not merged",
            {"conflicting_identities": conflicts},
        )
    limits: list[tuple[str, list[Any] | None, int]] = [
        ("emails", after.emails, MAX_EMAILS),
        ("secondary_phones", after.secondary_phones, MAX_SECONDARY_PHONES),
        ("identities", after.identities, MAX_IDENTITIES),
        ("tags", after.tags, MAX_TAGS_PER_CONTACT),
    ]
    over = [
        {"field": name, "count": len(values or []), "max": most}
        for name, values, most in limits
        if len(values or []) > most
    ]
    if over:
        raise Conflict(
            "Together the contacts exceed a limit; remove some values first (a merge drops nothing)",
            {"limits": over},
        )
