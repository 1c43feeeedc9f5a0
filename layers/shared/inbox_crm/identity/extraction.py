"""Emails and phone numbers a sender typed into a conversation ("mi correo es ana@ejemplo.com",
"+52 55 1234 5678", "tel 5512345678"), in the forms contacts store them, for identity hints.

Only what the sender wrote is returned, normalised exactly like a contact's own values
(contact_values: emails lowercased, phones E.164 read in the workspace's region), so a hint is one
lookup Query per value. False positives are rejected on purpose rather than guessed at:

* phones are found by ``phonenumbers.PhoneNumberMatcher`` at leniency VALID (a run of digits that is
  not a valid number of its region, dates, times, prices with separators and too-short or too-long
  runs are not matches), then re-read by the contacts normaliser;
* a number right after an order / tracking / invoice word ("pedido #…", "orden", "folio", "guía",
  "order no.", "tracking", "factura", "ticket", "ref"), after "#", "$" or "No.", before a currency
  ("… pesos", "MXN", "USD"), or glued to letters ("AB5512345678") is not a phone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers

from inbox_crm.contacts.values import InvalidFields, e164, normalise_email

MAX_TEXT = 4000  # longer texts are read up to here: hints come from short messages
MAX_VALUES = 5  # per message

_EMAIL_CANDIDATE = re.compile(r"[^\s@<>()\[\]{},;:\"']{1,64}@[^\s@<>()\[\]{},;:\"']{3,255}")
_TRAILING = ".,;:!?¡¿)]}>\"'"
_NOT_A_PHONE_BEFORE = re.compile(
    r"(?:#|\$|\bn[o°º]\.?|\bnum\.?|\bn[uú]mero de (?:pedido|orden|gu[ií]a|factura|seguimiento|rastreo)"
    r"|\bpedido|\borden|\border|\bfolio|\bgu[ií]a|\btracking|\brastreo|\bseguimiento|\bfactura"
    r"|\binvoice|\bticket|\bref(?:erencia|erence)?\.?|\bcuenta|\baccount|\bclabe|\btarjeta|\bcard"
    r"|\bcp|\bc\.p\.|\bzip|\bsku|\bid)\s*(?:es|is|number|n[uú]mero|no\.?)?\s*[:#]?\s*$",
    re.IGNORECASE,
)
_NOT_A_PHONE_AFTER = re.compile(
    r"^\s*(?:pesos|mxn|usd|dlls?|d[oó]lares|euros?|eur|cop|ars|clp|pen|%|kg|km|g\b|mb|gb)",
    re.IGNORECASE,
)
_LOOK_BEHIND = 40
# International numbers the matcher skips because they are not valid as typed, but the contacts
# normaliser reads (Mexico's retired mobile "1": "+52 1 55 1234 5678").
_INTERNATIONAL = re.compile(r"(?<![\w+])\+\d[\d ().\-]{7,22}\d(?![\w])")


@dataclass(frozen=True)
class Extracted:
    kind: str  # email | phone
    value: str  # the stored form: lowercased email, E.164 phone


def extract(text: str | None, default_region: str | None) -> list[Extracted]:
    """Emails first, then phones, each once, in the order written; at most MAX_VALUES."""
    if not text:
        return []
    text = text[:MAX_TEXT]
    found: dict[tuple[str, str], Extracted] = {}
    for email in _emails(text):
        found.setdefault(("email", email), Extracted("email", email))
    masked = _EMAIL_CANDIDATE.sub(lambda match: " " * len(match.group(0)), text)
    for phone in _phones(masked, default_region):
        found.setdefault(("phone", phone), Extracted("phone", phone))
    return list(found.values())[:MAX_VALUES]


def _emails(text: str) -> list[str]:
    emails = []
    for match in _EMAIL_CANDIDATE.finditer(text):
        raw = match.group(0).strip(_TRAILING).lstrip("<(\"'")
        raw = raw.removeprefix("mailto:")
        try:
            emails.append(normalise_email(raw, ("text",)))
        except InvalidFields:
            continue
    return emails


def _phones(text: str, default_region: str | None) -> list[str]:
    matcher = phonenumbers.PhoneNumberMatcher(text, default_region, leniency=phonenumbers.Leniency.VALID)
    spans = [(match.start, match.end, match.raw_string) for match in matcher]
    covered = [range(start, end) for start, end, _ in spans]
    for match in _INTERNATIONAL.finditer(text):
        if not any(match.start() in span for span in covered):
            spans.append((match.start(), match.end(), match.group(0)))
    phones = []
    for start, end, raw in sorted(spans):
        before = text[max(0, start - _LOOK_BEHIND) : start]
        after = text[end : end + 12]
        if before[-1:].isalnum() or after[:1].isalnum():
            continue  # glued to letters or digits: a code, not a phone
        if _NOT_A_PHONE_BEFORE.search(before) or _NOT_A_PHONE_AFTER.match(after):
            continue
        digits = re.sub(r"\D", "", raw)
        if not 7 <= len(digits) <= 15:
            continue
        stored = e164(raw, default_region)
        if stored:
            phones.append(stored)
    return phones
