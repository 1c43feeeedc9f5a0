"""Exact lookups of contacts, for flows, merge suggestions and WhatsApp auto-linking.

Each is ONE strongly consistent Query on the value's own partition
(``WS#<ws>#LOOKUP#<kind>#<value>``), so its cost does not depend on the size of the workspace. Phones
and emails may belong to several contacts (that is what merge suggestions look for): every lookup
answers a list of contact ids, in id order (creation order, to the millisecond). A value that
cannot be normalised matches nothing. The contact behind a channel identity:
``contacts.find_contact_for_identity``.
"""

from __future__ import annotations

from inbox_crm.contacts.values import InvalidFields, e164, normalise_email
from inbox_crm.store.models import ContactLookup


def contact_ids_for(workspace_id: str, kind: str, value: str) -> list[str]:
    """Contacts holding exactly this stored value (kind: phone | email | facebook | instagram)."""
    entries = ContactLookup.query(
        ContactLookup.partition(workspace_id, kind, value),
        ContactLookup.sk.startswith("CONTACT#"),
        consistent_read=True,
    )
    return [entry.contact_id for entry in entries if isinstance(entry, ContactLookup)]


def contacts_by_phone(workspace_id: str, phone: str, default_region: str | None = None) -> list[str]:
    """Contacts with this number as primary, secondary or WhatsApp phone. A number without country
    code is read in default_region (the workspace's)."""
    stored = e164(phone, default_region)
    return contact_ids_for(workspace_id, "phone", stored) if stored else []


def contacts_by_email(workspace_id: str, email: str) -> list[str]:
    try:
        normalised = normalise_email(email, ("email",))
    except InvalidFields:
        return []
    return contact_ids_for(workspace_id, "email", normalised)


def contacts_by_facebook_id(workspace_id: str, psid: str) -> list[str]:
    """Contacts linked to the Messenger sender with this page-scoped id."""
    return contact_ids_for(workspace_id, "facebook", psid.strip())


def contacts_by_instagram_username(workspace_id: str, username: str) -> list[str]:
    """Contacts linked to the Instagram sender with this username ("@" and case ignored)."""
    return contact_ids_for(workspace_id, "instagram", username.strip().lstrip("@").lower())
