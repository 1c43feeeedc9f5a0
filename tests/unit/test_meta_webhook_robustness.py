"""parse_delivery over every sample and arbitrary shapes: one unit per item, stable keys, never raises."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inbox_crm.meta.units import InboundUnit, UnitKind
from inbox_crm.meta.webhook import MAX_READABLE_KEY_LENGTH, UNKNOWN_TIME_MS, parse_delivery
from inbox_crm.meta.webhook import messaging as meta_messaging

EVENTS = Path(__file__).resolve().parents[2] / "events"
SAMPLES = sorted(EVENTS.rglob("*.json"))
SAMPLE_IDS = [str(path.relative_to(EVENTS)) for path in SAMPLES]
CUSTOMERLESS_KINDS = {UnitKind.ACCOUNT_ERROR, UnitKind.UNUSABLE}


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def parse(body: Any) -> list[InboundUnit]:
    return parse_delivery(body, our_app_id="999999999999999")


def reorder(value: Any) -> Any:
    """The same JSON value with every object's keys in reverse order."""
    if isinstance(value, dict):
        return {key: reorder(value[key]) for key in reversed(list(value))}
    if isinstance(value, list):
        return [reorder(item) for item in value]
    return value


def assert_well_formed(units: list[InboundUnit]) -> None:
    assert units, "parse_delivery must return at least one unit"
    for unit in units:
        assert isinstance(unit, InboundUnit)
        assert unit.dedupe_key
        assert isinstance(unit.account_id, str)
        assert not (unit.reason or "").startswith("parse_error"), unit
        # What the inbound queue does with a unit: it must encode to UTF-8 and come back equal.
        assert InboundUnit.model_validate_json(unit.model_dump_json().encode("utf-8")) == unit


# ------------------------------------------------------------------ every sample


def test_there_is_a_sample_for_every_platform() -> None:
    assert {path.parent.name for path in SAMPLES} == {"messenger", "instagram", "whatsapp", "comments"}
    assert len(SAMPLES) >= 70


def test_the_readme_lists_every_sample() -> None:
    readme = (EVENTS / "README.md").read_text(encoding="utf-8")
    missing = [name for name in SAMPLE_IDS if f"`{name}`" not in readme]
    assert missing == []


@pytest.mark.parametrize("path", SAMPLES, ids=SAMPLE_IDS)
def test_every_sample_parses_into_well_formed_units(path: Path) -> None:
    units = parse(load(path))
    assert_well_formed(units)
    for unit in units:
        if unit.kind is not UnitKind.UNUSABLE:
            assert unit.account_id, unit
        if unit.kind not in CUSTOMERLESS_KINDS and not (unit.comment and unit.comment.verb == "remove"):
            assert unit.customer_id, unit
        if unit.kind is UnitKind.ACCOUNT_ERROR:
            assert unit.timestamp_ms == UNKNOWN_TIME_MS  # Meta sends no time for these
        else:
            assert 10**12 <= unit.timestamp_ms < 10**13  # milliseconds


@pytest.mark.parametrize("path", SAMPLES, ids=SAMPLE_IDS)
def test_dedupe_keys_survive_reserialisation_with_other_key_order_and_whitespace(path: Path) -> None:
    body = load(path)
    original = [unit.dedupe_key for unit in parse(body)]
    compact_ascii = json.loads(json.dumps(reorder(body), ensure_ascii=True, separators=(",", ":")))
    pretty = json.loads(json.dumps(reorder(reorder(body)), ensure_ascii=False, indent=4))
    assert [unit.dedupe_key for unit in parse(compact_ascii)] == original
    assert [unit.dedupe_key for unit in parse(pretty)] == original
    assert parse(compact_ascii) == parse(body)


@pytest.mark.parametrize("path", SAMPLES, ids=SAMPLE_IDS)
def test_dedupe_keys_are_compact_printable_ascii(path: Path) -> None:
    for unit in parse(load(path)):
        assert len(unit.dedupe_key) <= MAX_READABLE_KEY_LENGTH
        assert all(33 <= ord(char) <= 126 for char in unit.dedupe_key)


def test_dedupe_keys_are_unique_across_all_samples_except_true_redeliveries() -> None:
    seen: dict[str, str] = {}
    for path, name in zip(SAMPLES, SAMPLE_IDS, strict=True):
        for unit in parse(load(path)):
            assert unit.dedupe_key not in seen, (name, seen.get(unit.dedupe_key))
            seen[unit.dedupe_key] = name


@pytest.mark.parametrize("path", SAMPLES, ids=SAMPLE_IDS)
def test_a_redelivery_gives_equal_units_not_just_equal_keys(path: Path) -> None:
    first = parse(load(path))
    time.sleep(0.002)  # nothing in a unit may depend on when it was parsed
    assert parse(load(path)) == first


# ------------------------------------------------------------------ deliveries that are not Meta's


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "EVENT",
        42,
        4.2,
        True,
        {},
        {"object": "page"},
        {"object": "page", "entry": "x"},
        {"entry": {}},
    ],
    ids=repr,
)
def test_a_body_that_is_not_a_meta_delivery_is_one_unusable_unit(body: Any) -> None:
    (unit,) = parse(body)
    assert (unit.kind, unit.reason, unit.account_id) == (UnitKind.UNUSABLE, "not_a_meta_delivery", "")
    assert unit.dedupe_key.startswith("unusable:")


def test_an_empty_entry_list_is_one_unusable_unit() -> None:
    (unit,) = parse({"object": "page", "entry": []})
    assert (unit.kind, unit.reason) == (UnitKind.UNUSABLE, "empty_delivery")


def test_an_unknown_object_gives_one_unusable_unit_per_entry() -> None:
    body = {
        "object": "permissions",
        "entry": [{"id": "1", "time": 1781539200}, {"id": "2", "time": 1781539201}],
    }
    units = parse(body)
    assert [(u.kind, u.reason, u.account_id, u.object_type) for u in units] == [
        (UnitKind.UNUSABLE, "unhandled_object", "1", "permissions"),
        (UnitKind.UNUSABLE, "unhandled_object", "2", "permissions"),
    ]
    assert units[0].dedupe_key != units[1].dedupe_key


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ("not an entry", "malformed:entry"),
        ({"time": 1781539200000, "messaging": []}, "malformed:entry_id"),
        ({"id": "100000000000001", "time": 1781539200000}, "empty_entry"),
        ({"id": "100000000000001", "messaging": []}, "empty_entry"),
        ({"id": "100000000000001", "messaging": {"sender": {}}}, "malformed:not_a_list"),
        ({"id": "100000000000001", "changes": "feed"}, "malformed:not_a_list"),
    ],
)
def test_malformed_entries_are_unusable(entry: Any, reason: str) -> None:
    (unit,) = parse({"object": "page", "entry": [entry]})
    assert (unit.kind, unit.reason) == (UnitKind.UNUSABLE, reason)


def test_every_messaging_item_gives_one_unit_even_among_garbage() -> None:
    body = load(EVENTS / "messenger" / "text.json")
    good = body["entry"][0]["messaging"][0]
    other = copy.deepcopy(good)
    other["message"]["mid"] = "m_other"
    body["entry"][0]["messaging"] = [good, 42, None, {}, [], "x", {"sender": {"id": "1"}}, other]
    units = parse(body)
    assert [u.kind for u in units] == [UnitKind.MESSAGE] + [UnitKind.UNUSABLE] * 6 + [UnitKind.MESSAGE]
    assert all(u.account_id == "100000000000001" for u in units)
    assert len({u.dedupe_key for u in units}) == len(units)


def test_every_whatsapp_element_gives_one_unit_even_among_garbage() -> None:
    body = load(EVENTS / "whatsapp" / "batch_two_numbers.json")
    value = body["entry"][0]["changes"][0]["value"]
    value["messages"].insert(1, "garbage")
    value["statuses"].append({"id": "wamid.x"})
    value["errors"] = [None]
    kinds = [u.kind for u in parse(body)]
    assert kinds == [
        UnitKind.MESSAGE,
        UnitKind.UNUSABLE,
        UnitKind.MESSAGE,
        UnitKind.STATUS,
        UnitKind.STATUS,
        UnitKind.UNUSABLE,
        UnitKind.UNUSABLE,
        UnitKind.MESSAGE,
    ]


def test_lone_surrogates_are_replaced_so_units_stay_encodable_and_valid_text_is_untouched() -> None:
    body = load(EVENTS / "messenger" / "text.json")
    message = body["entry"][0]["messaging"][0]["message"]
    message["text"] = json.loads(r'"ok \ud83d\udc4b broken \ud83d end"')  # one valid pair, one lone half
    message["referral"] = json.loads(r'{"ref": "\udc4b", "k\ud800": ["\u00e9"]}')
    (unit,) = parse(body)
    assert unit.text == "ok 👋 broken \ufffd end"
    assert unit.referral == {"ref": "\ufffd", "k\ufffd": ["é"]}
    unit.model_dump_json().encode("utf-8")


def test_a_parser_crash_is_contained_to_its_item(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(*_: Any) -> InboundUnit:
        raise RuntimeError("boom")

    monkeypatch.setitem(meta_messaging._MESSAGING_EVENTS, "message", crash)
    units = parse(load(EVENTS / "messenger" / "batch_two_pages.json"))
    assert len(units) == 6
    crashed = [u for u in units if u.kind is UnitKind.UNUSABLE]
    assert [u.reason for u in crashed] == ["parse_error:RuntimeError"] * 3
    assert {u.kind for u in units} - {UnitKind.UNUSABLE} == {
        UnitKind.DELIVERY,
        UnitKind.READ,
        UnitKind.REACTION,
    }


# ------------------------------------------------------------------ property tests

# json.loads accepts lone surrogates ("\ud83d" escapes with no pair), so a body can hold them too.
JSON_TEXT = st.text(st.characters() | st.sampled_from(["\ud83d", "\udc4b", "\ud800"]), max_size=20)
JSON_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | JSON_TEXT
)
JSON_VALUES = st.recursive(
    JSON_SCALARS,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(JSON_TEXT, children, max_size=4),
    max_leaves=20,
)
EVENT_KEYS = ["message", "message_edit", "reaction", "delivery", "read", "postback", "referral", "optin"]
INNER_KEYS = [
    "mid", "text", "attachments", "is_echo", "is_deleted", "app_id", "reply_to", "quick_reply", "watermark",
    "action", "emoji", "num_edit", "payload", "title", "type", "sticker_id", "url", "coordinates", "story",
]  # fmt: skip


def _loose_dict(keys: list[str]) -> st.SearchStrategy[dict[str, Any]]:
    return st.dictionaries(
        st.sampled_from(keys), JSON_VALUES | st.dictionaries(st.sampled_from(keys), JSON_VALUES)
    )


MESSAGING_EVENTS = st.fixed_dictionaries(
    {},
    optional={
        "sender": st.one_of(JSON_VALUES, st.fixed_dictionaries({"id": st.text(max_size=5) | st.integers()})),
        "recipient": JSON_VALUES,
        "timestamp": JSON_SCALARS,
        "message": _loose_dict(INNER_KEYS),
        "reaction": _loose_dict(INNER_KEYS),
        "read": _loose_dict(INNER_KEYS),
        "postback": _loose_dict(INNER_KEYS),
        "delivery": _loose_dict(INNER_KEYS),
    },
)
WA_KEYS = [
    "from", "from_user_id", "id", "timestamp", "type", "text", "image", "audio", "interactive", "button",
    "reaction", "system", "context", "errors", "status", "recipient_id", "pricing", "location", "contacts",
]  # fmt: skip
WA_VALUES = st.fixed_dictionaries(
    {"metadata": st.fixed_dictionaries({"phone_number_id": st.sampled_from(["1", "2"]) | JSON_SCALARS})},
    optional={
        "contacts": st.lists(_loose_dict(["wa_id", "user_id", "profile"]) | JSON_VALUES, max_size=3),
        "messages": st.lists(_loose_dict(WA_KEYS) | JSON_VALUES, max_size=3),
        "statuses": st.lists(_loose_dict(WA_KEYS) | JSON_VALUES, max_size=3),
        "errors": st.lists(JSON_VALUES, max_size=2),
    },
)
FEED_VALUES = _loose_dict(
    ["item", "verb", "comment_id", "post_id", "parent_id", "from", "created_time", "message"]
)
CHANGES = st.fixed_dictionaries(
    {"field": st.sampled_from(["feed", "messages", "comments"]) | JSON_SCALARS},
    optional={"value": WA_VALUES | FEED_VALUES | JSON_VALUES},
)
META_SHAPED = st.fixed_dictionaries(
    {
        "object": st.sampled_from(["page", "instagram", "whatsapp_business_account", "user"]) | JSON_SCALARS,
        "entry": st.lists(
            st.fixed_dictionaries(
                {},
                optional={
                    "id": st.sampled_from(["100000000000001", "0"]) | JSON_SCALARS,
                    "time": JSON_SCALARS,
                    "messaging": st.lists(MESSAGING_EVENTS | JSON_VALUES, max_size=3) | JSON_SCALARS,
                    "standby": st.lists(MESSAGING_EVENTS, max_size=2),
                    "changes": st.lists(CHANGES | JSON_VALUES, max_size=3) | JSON_SCALARS,
                },
            )
            | JSON_VALUES,
            max_size=3,
        ),
    }
)
FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(JSON_VALUES)
def test_arbitrary_json_never_raises_and_gives_at_least_one_unit(body: Any) -> None:
    assert_well_formed(parse(body))


@FAST
@given(META_SHAPED)
def test_meta_shaped_nonsense_never_raises_and_never_hits_the_crash_guard(body: Any) -> None:
    assert_well_formed(parse(body))


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


SAMPLE_BODIES = [load(path) for path in SAMPLES]


@st.composite
def mutated_samples(draw: st.DrawFn) -> Any:
    """A real sample with one value anywhere in it replaced (or deleted) by arbitrary JSON."""
    body = copy.deepcopy(draw(st.sampled_from(SAMPLE_BODIES)))
    path = draw(st.sampled_from(_paths(body)[1:]))
    parent = body
    for step in path[:-1]:
        parent = parent[step]
    if isinstance(parent, dict) and draw(st.booleans()):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(JSON_VALUES)
    return body


@FAST
@given(mutated_samples())
def test_samples_with_any_one_value_broken_never_raise(body: Any) -> None:
    assert_well_formed(parse(body))


@st.composite
def samples_with_arbitrary_strings(draw: st.DrawFn) -> Any:
    """A real sample whose string values are each, by a coin toss, replaced by arbitrary text."""

    def rewrite(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: rewrite(item) for key, item in value.items()}
        if isinstance(value, list):
            return [rewrite(item) for item in value]
        if isinstance(value, str) and draw(st.booleans()):
            return draw(JSON_TEXT)
        return value

    return rewrite(draw(st.sampled_from(SAMPLE_BODIES)))


@FAST
@given(samples_with_arbitrary_strings())
def test_samples_with_arbitrary_text_anywhere_give_encodable_units(body: Any) -> None:
    assert_well_formed(parse(body))
