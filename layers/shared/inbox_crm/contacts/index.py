"""The items derived from a contact that make it findable without a Scan.

Every contact write recomputes them from the contact's new state and writes the difference in the
same transaction as the contact (so they are never out of step, and a lost race writes nothing):

* search entries  ``WS#<ws>#SEARCH#<2 chars>`` / ``<token>#<contact>``: one per folded name word,
  email, and phone digit form; a prefix search is one ``begins_with`` Query on one partition;
* lookups  ``WS#<ws>#LOOKUP#<kind>#<value>`` / ``CONTACT#<contact>``: exact phone (E.164, any of
  primary / secondary / WhatsApp), email, Facebook ID (PSID) and Instagram username; one Query
  answers "which contacts have this value";
* listings  ``WS#<ws>#CLIST#<listing>`` / ``CONTACT#<contact>``: all, blocked, channel:<kind>,
  channel:any, channel:none, tag:<tag id>; the filters of the contact list.

The entries are a pure function of the contact, so a change of these rules needs a re-index job.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inbox_crm.contacts.values import fold, name_words, phone_digit_forms
from inbox_crm.store.models import Contact, ContactListing, ContactLookup, ContactSearchEntry, InboxItem

# Shorter tokens are not indexed: a search needs two characters to pick its partition.
MIN_TOKEN = 2
MAX_NAME_TOKENS = 12
CHANNEL_KINDS = ("messenger", "instagram", "whatsapp")

Key = tuple[str, str]


@dataclass(frozen=True)
class IndexChanges:
    puts: list[InboxItem]
    deletes: list[InboxItem]

    def __len__(self) -> int:
        return len(self.puts) + len(self.deletes)


def contact_phones(contact: Contact) -> list[tuple[str, str]]:
    """(number, field) for every phone of the contact, primary first."""
    phones = [(contact.primary_phone, "primary")] if contact.primary_phone else []
    phones += [(phone, "secondary") for phone in contact.secondary_phones or []]
    if contact.whatsapp_phone:
        phones.append((contact.whatsapp_phone, "whatsapp"))
    return phones


def search_tokens(contact: Contact) -> list[str]:
    """Folded first and last name words, emails, and each phone's digit forms, without repeats."""
    names = [*name_words(contact.first_name), *name_words(contact.last_name)][:MAX_NAME_TOKENS]
    emails = [fold(email) for email in contact.emails or []]
    phones = [form for phone, _ in contact_phones(contact) for form in phone_digit_forms(phone)]
    return list(dict.fromkeys(token for token in [*names, *emails, *phones] if len(token) >= MIN_TOKEN))


def lookup_values(contact: Contact) -> dict[tuple[str, str], list[str]]:
    """(kind, value) -> the contact fields holding it (phones) or []."""
    values: dict[tuple[str, str], list[str]] = {}
    for phone, field in contact_phones(contact):
        values.setdefault(("phone", phone), []).append(field)
    for email in contact.emails or []:
        values.setdefault(("email", email), [])
    for ref in contact.identities or []:
        if ref.platform == "messenger":
            values.setdefault(("facebook", ref.external_id), [])
        elif ref.platform == "instagram" and ref.username:
            values.setdefault(("instagram", ref.username.lower()), [])
    return values


def listings(contact: Contact) -> list[str]:
    if contact.deleted:
        return []
    names = ["all"]
    if contact.blocked:
        names.append("blocked")
    channels = channels_of(contact)
    names += [f"channel:{channel}" for channel in channels]
    names.append("channel:any" if channels else "channel:none")
    names += [f"tag:{tag_id}" for tag_id in contact.tags or []]
    return names


def channels_of(contact: Contact) -> list[str]:
    present = {ref.platform for ref in contact.identities or []}
    return [kind for kind in CHANNEL_KINDS if kind in present]


def index_items(contact: Contact) -> dict[Key, InboxItem]:
    """Every search entry, lookup and listing the contact should have now (none once deleted)."""
    if contact.deleted:
        return {}
    workspace_id, contact_id = contact.workspace_id, contact.contact_id
    items: dict[Key, InboxItem] = {}
    tokens = search_tokens(contact)
    for token in tokens:
        key = ContactSearchEntry.key(workspace_id, token, contact_id)
        items[key] = ContactSearchEntry(*key, contact_id=contact_id, token=token, terms=tokens)
    for (kind, value), fields in lookup_values(contact).items():
        key = ContactLookup.key(workspace_id, kind, value, contact_id)
        items[key] = ContactLookup(*key, contact_id=contact_id, kind=kind, value=value, fields=fields or None)
    for listing in listings(contact):
        key = ContactListing.key(workspace_id, listing, contact_id)
        items[key] = ContactListing(*key, contact_id=contact_id)
    return items


def _same(first: InboxItem, second: InboxItem) -> bool:
    serialised: Any = first.serialize()
    return bool(serialised == second.serialize())


def changes(before: dict[Key, InboxItem], after: dict[Key, InboxItem]) -> IndexChanges:
    """The writes that turn the entries of one contact state into those of the next."""
    puts = [item for key, item in after.items() if key not in before or not _same(before[key], item)]
    deletes = [item for key, item in before.items() if key not in after]
    return IndexChanges(puts=puts, deletes=deletes)
