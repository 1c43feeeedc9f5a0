"""Facebook Page feed comments (object "page", changes[field=feed]) → inbound units."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inbox_crm.meta.units import InboundUnit, UnitKind
from inbox_crm.meta.webhook import parse_delivery

EVENTS = Path(__file__).resolve().parents[2] / "events" / "comments"
PAGE = "100000000000001"
PSID = "7000000000000001"
POST = f"{PAGE}_200000000000001"
C1 = "200000000000001_300000000000001"
C2 = "200000000000001_300000000000002"
S0 = 1781539200  # the samples' base time, in seconds


def load(name: str) -> Any:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def only_unit(name: str) -> InboundUnit:
    units = parse_delivery(load(name), our_app_id=None)
    assert len(units) == 1, units
    return units[0]


def test_top_level_comment() -> None:
    unit = only_unit("add_top_level.json")
    assert unit.kind is UnitKind.COMMENT
    assert (unit.platform, unit.account_id, unit.entry_id) == ("messenger", PAGE, PAGE)
    assert unit.customer_id == PSID
    assert unit.customer_name == "María Pérez"
    assert unit.text == "¿Precio? 😍 ¿Hay en talla M?"
    assert unit.timestamp_ms == (S0 + 600) * 1000  # created_time is in seconds
    assert unit.platform_message_id == C1
    assert unit.dedupe_key == f"comment:{PAGE}:{C1}:add:{S0 + 600}"
    assert unit.comment is not None
    assert unit.comment.comment_id == C1
    assert unit.comment.post_id == POST
    assert unit.comment.parent_id == POST
    assert unit.comment.verb == "add"
    assert not unit.comment.is_reply
    assert not unit.comment.from_page
    assert unit.comment.post_permalink is not None
    assert unit.comment.post_permalink.startswith("https://www.facebook.com/")
    assert unit.user_originated
    assert unit.conversation_key == f"messenger:{PAGE}:post:{POST}:{PSID}"


def test_reply_to_a_comment_is_a_reply() -> None:
    unit = only_unit("reply.json")
    assert unit.comment is not None
    assert unit.comment.is_reply
    assert unit.comment.parent_id == C1
    assert unit.customer_name == "José Hernández"


def test_comment_with_a_photo_has_an_image_attachment() -> None:
    unit = only_unit("add_with_photo.json")
    (attachment,) = unit.attachments
    assert attachment.type == "image"
    assert attachment.url == "https://scontent.xx.fbcdn.net/v/t39.30808-6/comentario_foto.jpg"


def test_edited_comment_has_the_new_text_and_its_own_key() -> None:
    unit = only_unit("edited.json")
    assert unit.comment is not None
    assert unit.comment.verb == "edited"
    assert unit.text == "¿Precio? 😍 ¿Hay en talla L?"
    assert unit.dedupe_key.startswith(f"comment:{PAGE}:{C1}:edited:{S0 + 610}:")


def test_two_different_edits_with_the_same_created_time_do_not_share_a_key() -> None:
    first = load("edited.json")
    second = load("edited.json")
    second["entry"][0]["changes"][0]["value"]["message"] = "otra edición"
    (one,) = parse_delivery(first, our_app_id=None)
    (two,) = parse_delivery(second, our_app_id=None)
    assert one.dedupe_key != two.dedupe_key


def test_removed_comment_has_no_text() -> None:
    unit = only_unit("remove.json")
    assert unit.comment is not None
    assert unit.comment.verb == "remove"
    assert unit.text is None
    assert unit.customer_id == PSID
    assert unit.dedupe_key == f"comment:{PAGE}:{C1}:remove:{S0 + 620}"


def test_removed_comment_without_from_has_no_customer() -> None:
    unit = only_unit("remove_without_from.json")
    assert unit.kind is UnitKind.COMMENT
    assert unit.customer_id is None
    assert unit.customer_name is None
    assert unit.comment is not None
    assert unit.comment.is_reply


def test_the_pages_own_comment_is_from_page_and_not_user_originated() -> None:
    unit = only_unit("page_own_comment.json")
    assert unit.comment is not None
    assert unit.comment.from_page
    assert unit.customer_id == PAGE
    assert not unit.user_originated


@pytest.mark.parametrize("name", ["reaction_item.json", "status_item.json"])
def test_feed_items_other_than_comments_are_acknowledged_and_ignored(name: str) -> None:
    unit = only_unit(name)
    assert (unit.kind, unit.reason, unit.field, unit.object_type) == (
        UnitKind.UNUSABLE,
        "ignored_feed_item",
        "feed",
        "page",
    )
    assert unit.account_id == PAGE


@pytest.mark.parametrize("verb", ["hide", "unhide", "edit", "block", "delete"])
def test_comment_verbs_other_than_add_edited_remove_are_unhandled(verb: str) -> None:
    body = load("hide.json")
    body["entry"][0]["changes"][0]["value"]["verb"] = verb
    (unit,) = parse_delivery(body, our_app_id=None)
    assert (unit.kind, unit.reason, unit.field) == (UnitKind.UNUSABLE, "unhandled_verb", "feed")


def test_hide_sample_is_unhandled_verb() -> None:
    assert only_unit("hide.json").reason == "unhandled_verb"


def test_comment_without_post_id_is_malformed() -> None:
    body = load("add_top_level.json")
    del body["entry"][0]["changes"][0]["value"]["post_id"]
    (unit,) = parse_delivery(body, our_app_id=None)
    assert (unit.kind, unit.reason) == (UnitKind.UNUSABLE, "malformed:missing_post_id")


def test_other_page_fields_are_unhandled_field() -> None:
    body = load("add_top_level.json")
    body["entry"][0]["changes"][0]["field"] = "ratings"
    (unit,) = parse_delivery(body, our_app_id=None)
    assert (unit.kind, unit.reason, unit.field) == (UnitKind.UNUSABLE, "unhandled_field", "ratings")


def test_messaging_and_feed_changes_in_one_page_entry_both_produce_units() -> None:
    body = load("add_top_level.json")
    messenger = json.loads((EVENTS.parent / "messenger" / "text.json").read_text(encoding="utf-8"))
    body["entry"][0]["messaging"] = messenger["entry"][0]["messaging"]
    kinds = sorted(unit.kind for unit in parse_delivery(body, our_app_id=None))
    assert kinds == sorted([UnitKind.MESSAGE, UnitKind.COMMENT])
