"""The contact list and the panel's search box, without a Scan and at a cost that does not grow
with the workspace.

One partition drives each page: the search entries of the query's first two characters
(``begins_with`` the query's most selective word) when there is a query, else the listing of the
most selective filter (a tag, blocked, a channel, or all contacts, newest first). The page's
contacts are then read in one BatchGetItem and the remaining filters applied to them. A page reads
at most a few driver pages; when filters are sparse it answers fewer items and a cursor.

A contact matches a query when every query word is a prefix of one of its tokens (folded name
words, emails, phone digit forms). Each contact is answered once: at the first of its tokens that
starts with the driving word (each entry carries all the contact's tokens, so this needs no read
and holds across pages).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from inbox_crm.contacts.index import MIN_TOKEN, channels_of
from inbox_crm.contacts.values import InvalidFields, fold, query_digits
from inbox_crm.core.errors import InvalidInput
from inbox_crm.store.cursor import decode_cursor, encode_cursor
from inbox_crm.store.models import Contact, ContactListing, ContactSearchEntry, InboxItem

_MAX_DRIVER_READS = 5
HAS_CHANNEL = ("messenger", "instagram", "whatsapp", "any", "none")


@dataclass(frozen=True)
class ContactFilter:
    q: str | None = None
    tag: str | None = None
    blocked: bool | None = None
    has_channel: str | None = None  # messenger | instagram | whatsapp | any | none


@dataclass
class ContactPage:
    items: list[Contact]
    next_cursor: str | None


@dataclass(frozen=True)
class _Driver:
    partition: str
    range_condition: Any
    sort_prefix: str  # every sort key of this driver starts with it (cursors are checked against it)
    newest_first: bool
    contact_of: Callable[[InboxItem], str | None]  # the entry's contact, or None to skip it


def query_words(q: str) -> list[str]:
    """What the query searches for: phone digits, or folded words (emails kept whole)."""
    digits = query_digits(q)
    if digits is not None:
        return [digits]
    words = []
    for raw in fold(q).split():
        # email-like chunks ("maria.lo", "ana@") are matched as typed; other punctuation is ignored,
        # as in names ("J." is "j", "García-López" is "garcialopez")
        chunk = raw.strip(".,;:")
        word = chunk if ("@" in chunk or "." in chunk) else "".join(part for part in chunk if part.isalnum())
        if word:
            words.append(word)
    return words


def _search_driver(workspace_id: str, q: str) -> _Driver:
    words = query_words(q)
    driver = max(words, key=len, default="")
    if len(driver) < MIN_TOKEN:
        raise InvalidFields.one(("q",), f"type at least {MIN_TOKEN} letters or digits", "too_short")
    others = [word for word in words if word != driver]

    def contact_of(entry: InboxItem) -> str | None:
        if not isinstance(entry, ContactSearchEntry):
            return None
        terms = list(entry.terms)
        first_match = min((term for term in terms if term.startswith(driver)), default=None)
        if entry.token != first_match:
            return None  # the contact is (or was) answered at an earlier token
        if not all(any(term.startswith(word) for term in terms) for word in others):
            return None
        return entry.contact_id

    return _Driver(
        partition=ContactSearchEntry.partition(workspace_id, driver),
        range_condition=ContactSearchEntry.sk.startswith(driver),
        sort_prefix=driver,
        newest_first=False,
        contact_of=contact_of,
    )


def _listing_driver(workspace_id: str, criteria: ContactFilter) -> _Driver:
    if criteria.tag:
        listing = f"tag:{criteria.tag}"
    elif criteria.blocked:
        listing = "blocked"
    elif criteria.has_channel:
        listing = f"channel:{criteria.has_channel}"
    else:
        listing = "all"
    return _Driver(
        partition=ContactListing.partition(workspace_id, listing),
        range_condition=ContactListing.sk.startswith("CONTACT#"),
        sort_prefix="CONTACT#",
        newest_first=True,
        contact_of=lambda entry: entry.contact_id if isinstance(entry, ContactListing) else None,
    )


def _matches(contact: Contact, criteria: ContactFilter) -> bool:
    if contact.deleted:
        return False
    if criteria.tag and criteria.tag not in (contact.tags or []):
        return False
    if criteria.blocked is not None and bool(contact.blocked) != criteria.blocked:
        return False
    channels = channels_of(contact)
    if criteria.has_channel == "any":
        return bool(channels)
    if criteria.has_channel == "none":
        return not channels
    return not criteria.has_channel or criteria.has_channel in channels


def _start_key(cursor: str | None, driver: _Driver) -> dict[str, Any] | None:
    start = decode_cursor(cursor, partition_attribute="pk", partition_value=driver.partition)
    if start is not None and not str(start.get("sk", {}).get("S", "")).startswith(driver.sort_prefix):
        raise InvalidInput("The cursor does not belong to this search", {"cursor": "foreign"})
    return start


def _contacts_by_id(workspace_id: str, contact_ids: list[str]) -> dict[str, Contact]:
    keys = [Contact.key(workspace_id, contact_id) for contact_id in contact_ids]
    return {
        contact.contact_id: contact
        for contact in Contact.batch_get(keys, consistent_read=True)
        if isinstance(contact, Contact)
    }


def search_contacts(
    workspace_id: str, criteria: ContactFilter, limit: int, cursor: str | None
) -> ContactPage:
    driver = (
        _search_driver(workspace_id, criteria.q) if criteria.q else _listing_driver(workspace_id, criteria)
    )
    start = _start_key(cursor, driver)
    pages = InboxItem.query(
        driver.partition,
        driver.range_condition,
        consistent_read=True,
        scan_index_forward=not driver.newest_first,
        page_size=limit,
        last_evaluated_key=start,
    ).page_iter
    found: list[Contact] = []
    resume_at: dict[str, Any] | None = start
    for _ in range(_MAX_DRIVER_READS):
        try:
            raw_page = next(pages)
        except StopIteration:
            resume_at = None
            break
        entries = [InboxItem.from_raw_data(raw) for raw in raw_page.get("Items", [])]
        candidates = [(entry, driver.contact_of(entry)) for entry in entries]
        accepted = [(entry, contact_id) for entry, contact_id in candidates if contact_id is not None]
        contacts = _contacts_by_id(workspace_id, [contact_id for _, contact_id in accepted])
        for entry, contact_id in accepted:
            contact = contacts.get(contact_id)
            if contact is None or not _matches(contact, criteria):
                continue
            found.append(contact)
            if len(found) == limit:
                more = entry is not entries[-1] or pages.last_evaluated_key is not None
                resume_at = {"pk": {"S": entry.pk}, "sk": {"S": entry.sk}} if more else None
                return ContactPage(found, encode_cursor(resume_at))
        resume_at = pages.last_evaluated_key
        if resume_at is None:
            break
    return ContactPage(found, encode_cursor(resume_at))
