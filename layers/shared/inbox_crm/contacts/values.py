"""Contact values as we store and match them: phones in E.164, emails lowercased, text folded for
search (accents and case ignored), and the one error that names the fields that failed."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Any

import phonenumbers

from inbox_crm.core.errors import InvalidInput

Loc = tuple[str | int, ...]

_MX = 52
_MX_NATIONAL_DIGITS = 10

# Pragmatic address check (the full RFC grammar accepts things no mailbox uses): a local part
# without spaces or separators, and a domain of labels with a letters-only top level; Unicode letters
# are accepted on both sides ("maría@correo.mx").
_EMAIL = re.compile(
    r"^(?!\.)(?!.*\.\.)[^\s@\"(),:;<>\[\]\\]{1,64}(?<!\.)"
    r"@(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+[^\W\d_]{2,63}$"
)
_MAX_EMAIL = 254
_LANGUAGE = re.compile(r"^[a-z]{2,3}(?:-[a-z0-9]{2,8})?$")
_WORD_SPLIT = re.compile(r"[^\w]+|_")
_PHONE_QUERY = re.compile(r"^\+?[\d\s().\-/]+$")
_ID = re.compile(r"^[A-Za-z0-9_\-]{1,64}$")


class InvalidFields(InvalidInput):
    """Input that is well-formed but not acceptable; ``details`` lists {loc, msg, type} per field.
    The API answers it as 422, like the schema's own validation errors."""

    code = "validation_failed"

    def __init__(self, errors: Sequence[dict[str, Any]], message: str = "Some fields are invalid") -> None:
        super().__init__(message, [dict(error) for error in errors])

    @classmethod
    def one(cls, loc: Loc, msg: str, kind: str) -> InvalidFields:
        return cls([{"loc": list(loc), "msg": msg, "type": kind}])

    def nested(self, *prefix: str | int) -> InvalidFields:
        """The same errors under a parent field (e.g. a contact inside a larger body)."""
        return InvalidFields(
            [{**error, "loc": [*prefix, *error["loc"]]} for error in self.details], self.message
        )


# ------------------------------------------------------------------ phones


def _without_mexican_mobile_prefix(number: phonenumbers.PhoneNumber) -> None:
    """Mexico dropped the "1" of mobile numbers in 2019, but people still type "+52 1 55…" and
    WhatsApp still reports Mexican senders as 521 + 10 digits: read them as the number they are."""
    national = str(number.national_number)
    if number.country_code == _MX and len(national) == _MX_NATIONAL_DIGITS + 1 and national[0] == "1":
        number.national_number = int(national[1:])


def parse_phone(raw: str, default_region: str | None) -> phonenumbers.PhoneNumber | None:
    """A valid phone number, read with the workspace's region when it has no country code."""
    text = raw.strip()
    if not text or len(text) > 40:
        return None
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return None
    _without_mexican_mobile_prefix(number)
    return number if phonenumbers.is_valid_number(number) else None


def e164(raw: str, default_region: str | None) -> str | None:
    """The stored form of a phone number ("+525512345678"), or None when it is not valid."""
    number = parse_phone(raw, default_region)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if number else None


def normalise_phone(raw: str, default_region: str | None, loc: Loc) -> str:
    stored = e164(raw, default_region)
    if stored is None:
        raise InvalidFields.one(
            loc, f"not a valid phone number for region {default_region or 'international'}", "phone_invalid"
        )
    return stored


def canonical_phone(e164_or_wa_id: str) -> str | None:
    """The stored form of a number that already has its country code (a WhatsApp wa_id), or None."""
    return e164(e164_or_wa_id if e164_or_wa_id.startswith("+") else f"+{e164_or_wa_id}", None)


def phone_digit_forms(e164: str) -> list[str]:
    """What a person may type for a stored number: all its digits ("525512345678") and the national
    significant number ("5512345678")."""
    digits = e164.lstrip("+")
    number = parse_phone(e164, None)
    national = str(number.national_number) if number else None
    return [digits, national] if national and national != digits else [digits]


def country_of(e164: str | None) -> str | None:
    if not e164:
        return None
    number = parse_phone(e164, None)
    region = phonenumbers.region_code_for_number(number) if number else None
    return region if region and region != "001" else None


def normalise_country(raw: str, loc: Loc) -> str:
    code = raw.strip().upper()
    if code not in phonenumbers.SUPPORTED_REGIONS:
        raise InvalidFields.one(loc, "not an ISO 3166 country code", "country_invalid")
    return code


def normalise_language(raw: str, loc: Loc) -> str:
    code = raw.strip().lower().replace("_", "-")
    if not _LANGUAGE.match(code):
        raise InvalidFields.one(loc, "not a language tag (e.g. es, es-mx)", "language_invalid")
    return code


# ------------------------------------------------------------------ emails


def normalise_email(raw: str, loc: Loc) -> str:
    """Trimmed and lowercased: addresses are matched (and merge suggestions found) in this form."""
    email = unicodedata.normalize("NFC", raw.strip()).lower()
    if len(email) > _MAX_EMAIL or not _EMAIL.match(email):
        raise InvalidFields.one(loc, "not a valid email address", "email_invalid")
    return email


# ------------------------------------------------------------------ text for search


def fold(text: str) -> str:
    """Case- and accent-insensitive form: "María" and "MARIA" both become "maria"."""
    decomposed = unicodedata.normalize("NFKD", text)
    stripped = "".join(char for char in decomposed if not unicodedata.combining(char))
    return unicodedata.normalize("NFC", stripped.casefold())


def name_words(text: str | None) -> list[str]:
    """Folded words of a name; a hyphenated or apostrophised word also counts whole
    ("García-López" → garcia, lopez, garcialopez)."""
    if not text:
        return []
    words: list[str] = []
    for chunk in fold(text).split():
        parts = [part for part in _WORD_SPLIT.split(chunk) if part]
        words.extend(parts)
        if len(parts) > 1:
            words.append("".join(parts))
    return words


def query_digits(query: str) -> str | None:
    """The digits to search for when the query looks like a phone number, else None.
    "+52 1 55 1234 5678" searches for the stored form 525512345678."""
    text = query.strip()
    if not _PHONE_QUERY.match(text):
        return None
    digits = re.sub(r"\D", "", text)
    if len(digits) < 2:
        return None
    stored = e164(text, None) if text.startswith("+") else None
    return stored.lstrip("+") if stored else digits


def looks_like_id(value: str) -> bool:
    """Our ids (contacts, conversations, tags) are short and plain; anything else cannot exist, and
    must not reach a key (an oversized key is a DynamoDB error, not "not found")."""
    return bool(_ID.match(value))
