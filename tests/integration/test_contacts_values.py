"""Properties of the values contacts are matched by: phone numbers survive any common way of typing
them, and search folding ignores case and accents. (Pure functions: no AWS needed.)"""

from __future__ import annotations

import phonenumbers
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from inbox_crm.contacts.search import query_words
from inbox_crm.contacts.values import InvalidFields, canonical_phone, fold, normalise_phone, phone_digit_forms

REGIONS = ["MX", "CO", "AR", "CL", "PE", "ES", "US", "BR", "GT", "DO"]
FORMATS = [
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.NATIONAL,
]


@st.composite
def valid_numbers(draw: st.DrawFn) -> tuple[str, phonenumbers.PhoneNumber]:
    """A valid number of a Spanish-speaking market (or a neighbour), varied from Meta's example."""
    region = draw(st.sampled_from(REGIONS))
    kind = draw(
        st.sampled_from([phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE])
    )
    example = phonenumbers.example_number_for_type(region, kind)
    assume(example is not None)
    national = str(example.national_number)
    tail = draw(st.text("0123456789", min_size=3, max_size=3))
    number = phonenumbers.parse(f"+{example.country_code}{national[:-3]}{tail}", None)
    assume(phonenumbers.is_valid_number(number))
    return region, number


def _typed(text: str, separators: list[str]) -> str:
    """Insert spaces, dashes, dots or parentheses between digits, as people type them."""
    out = []
    for index, char in enumerate(text):
        out.append(char)
        if char.isdigit() and index < len(separators):
            out.append(separators[index])
    return "".join(out)


@given(
    valid_numbers(), st.sampled_from(FORMATS), st.lists(st.sampled_from(["", "", " ", "-", "."]), max_size=20)
)
def test_any_common_way_of_typing_a_number_stores_its_e164(
    case: tuple[str, phonenumbers.PhoneNumber], style: int, separators: list[str]
) -> None:
    region, number = case
    expected = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    typed = _typed(phonenumbers.format_number(number, style), separators)
    stored = normalise_phone(typed, region, ("primary_phone",))
    assert stored == expected
    # stable: the stored form reads back as itself, in any workspace region
    assert normalise_phone(stored, "MX", ("primary_phone",)) == stored
    assert canonical_phone(stored.lstrip("+")) == stored
    # the search box finds it typed with its country code, or as the national significant number
    international = style != phonenumbers.PhoneNumberFormat.NATIONAL
    searched = typed if international else _typed(str(number.national_number), separators)
    [digits] = query_words(searched)
    assert any(form.startswith(digits) for form in phone_digit_forms(stored))


@given(st.text(max_size=30))
def test_normalising_never_crashes_and_only_answers_valid_numbers(text: str) -> None:
    try:
        stored = normalise_phone(text, "MX", ("primary_phone",))
    except InvalidFields as error:
        failure = error.details
    else:
        failure = None
    if failure is not None:
        assert failure == [{"loc": ["primary_phone"], "msg": failure[0]["msg"], "type": "phone_invalid"}]
        return
    assert phonenumbers.is_valid_number(phonenumbers.parse(stored, None))
    assert normalise_phone(stored, "AR", ("primary_phone",)) == stored


SPANISH = "abcdefghijklmnñopqrstuvwxyzáéíóúü ABCDEFGHIJKLMNÑOPQRSTUVWXYZÁÉÍÓÚÜ"
PLAIN = str.maketrans("áéíóúüñ", "aeiouun")


@given(st.text(alphabet=SPANISH, max_size=20))
def test_folding_ignores_case_and_accents(text: str) -> None:
    assert fold(text) == fold(text.upper()) == text.lower().translate(PLAIN)
    assert fold(fold(text)) == fold(text)


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("+52 1 55 1234 5678", "+525512345678"),  # Mexico's retired mobile "1"
        ("044 55 1234 5678", None),
        ("+54 9 11 1234 5678", "+5491112345678"),
        ("(55) 1234-5678", "+525512345678"),
    ],
)
def test_known_latin_american_forms(typed: str, stored: str | None) -> None:
    if stored is None:
        with pytest.raises(InvalidFields):
            normalise_phone(typed, "MX", ("primary_phone",))
    else:
        assert normalise_phone(typed, "MX", ("primary_phone",)) == stored
