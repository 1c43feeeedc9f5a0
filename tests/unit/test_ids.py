"""new_id: lexicographic order is creation order (issue 10), legacy ids stay valid ids."""

from __future__ import annotations

from unittest import mock

from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter

from inbox_crm.contacts.schemas import Id
from inbox_crm.core import ids

MAX_MILLIS = (1 << 48) - 1
LEGACY_CONTACT_ID = "ctc_agm5ovp4ycg6e2pd6mqtzbfg7q"  # RFC 4648 base32, as stored before
API_ID = TypeAdapter(Id)  # what routes accept as a contact / merge id


def _minted_at(*millis: int) -> list[str]:
    with mock.patch.object(ids.time, "time", side_effect=[ms / 1000 for ms in millis]):
        return [ids.new_id("ctc") for _ in millis]


@given(st.lists(st.integers(min_value=0, max_value=MAX_MILLIS), min_size=2, max_size=40).map(sorted))
def test_lexicographic_order_is_creation_order(clock: list[int]) -> None:
    minted = _minted_at(*clock)
    assert sorted(minted) == minted
    assert len(set(minted)) == len(minted)


@given(st.integers(min_value=1, max_value=MAX_MILLIS), st.integers(min_value=1, max_value=5000))
def test_a_later_millisecond_always_sorts_after(earlier: int, gap: int) -> None:
    first, second = _minted_at(earlier - 1, min(earlier - 1 + gap, MAX_MILLIS) + 1)
    assert first < second


def test_ids_of_one_millisecond_and_a_clock_stepping_back_keep_minting_order() -> None:
    minted = _minted_at(*([1_764_550_000_000] * 500), 1_764_549_999_000, 1_764_549_999_000)
    assert sorted(minted) == minted
    assert len(set(minted)) == len(minted)


def test_format_is_lower_case_crockford_and_legacy_ids_stay_valid() -> None:
    minted = ids.new_id("mrg")
    prefix, body = minted.split("_")
    assert prefix == "mrg"
    assert len(body) == 26 == len(LEGACY_CONTACT_ID.split("_")[1])
    assert set(body) <= set(ids.CROCKFORD)
    assert list(ids.CROCKFORD) == sorted(ids.CROCKFORD)  # alphabet order == ASCII order
    for record_id in (minted, LEGACY_CONTACT_ID):
        assert API_ID.validate_python(record_id) == record_id


def test_stable_ids_are_unchanged() -> None:
    # Stored identities, conversations and messages are keyed by these: they must never change.
    assert ids.stable_id("idt", "messenger", "1", "2") == "idt_p2vmg2goanlcxkkke7eghogffa"
