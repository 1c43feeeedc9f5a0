"""Instagram messaging (object "instagram") deliveries → inbound units."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from inbox_crm.meta.units import InboundUnit, UnitKind
from inbox_crm.meta.webhook import MAX_READABLE_KEY_LENGTH, message_dedupe_key, parse_delivery

EVENTS = Path(__file__).resolve().parents[2] / "events" / "instagram"
IG = "17841400000000001"
IGSID = "8000000000000001"
T0 = 1781539200000


def load(name: str) -> Any:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def only_unit(name: str) -> InboundUnit:
    units = parse_delivery(load(name), our_app_id="999999999999999")
    assert len(units) == 1, units
    return units[0]


def igmid(n: int) -> str:
    return (
        "aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxNDAwMDAwMDAwMDAxOjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI3NjAxNTg4"
        f"NTg0MTU0NTI0MjozMTk0NDQ2NTQyMjAwMTM5MDQ4MDI2MDI1Njc3NzQ5Nzg{n:06d}ZDZD"
    )


def assert_from_the_demo_customer(unit: InboundUnit) -> None:
    assert unit.platform == "instagram"
    assert unit.account_id == IG
    assert unit.entry_id == IG
    assert unit.customer_id == IGSID


def test_text_message() -> None:
    unit = only_unit("text.json")
    assert unit.kind is UnitKind.MESSAGE
    assert_from_the_demo_customer(unit)
    assert unit.text == "Hola! vi su post 😍✨ ¿precio de la blusa?"
    assert unit.timestamp_ms == T0 + 200
    assert unit.platform_message_id == igmid(200)


def test_long_instagram_mids_get_a_compact_hashed_key_that_is_stable() -> None:
    unit = only_unit("text.json")
    assert len(f"mid:instagram:{IG}:{igmid(200)}") > MAX_READABLE_KEY_LENGTH
    assert unit.dedupe_key.startswith("mid:")
    assert len(unit.dedupe_key) <= MAX_READABLE_KEY_LENGTH
    assert unit.dedupe_key == message_dedupe_key("instagram", IG, igmid(200))
    assert unit.dedupe_key != message_dedupe_key("messenger", IG, igmid(200))


def test_story_mention_keeps_the_cdn_url() -> None:
    unit = only_unit("story_mention.json")
    assert unit.kind is UnitKind.MESSAGE
    (attachment,) = unit.attachments
    assert attachment.type == "story_mention"
    assert attachment.url is not None
    assert attachment.url.startswith("https://lookaside.fbsbx.com/ig_messaging_cdn/")


def test_story_reply_keeps_the_story_url_and_id() -> None:
    unit = only_unit("story_reply.json")
    assert unit.text == "¡Me encanta! 🔥"
    assert unit.reply_to_story is not None
    assert unit.reply_to_story["id"] == "18400000000000001"
    assert unit.reply_to_story["url"].startswith("https://lookaside.fbsbx.com/")
    assert unit.reply_to_message_id is None


def test_post_share_is_an_ig_post_attachment_with_the_post_id() -> None:
    (attachment,) = only_unit("ig_post_share.json").attachments
    assert attachment.type == "ig_post"
    assert attachment.title == "Nueva colección 🌸 #verano"
    assert attachment.payload == {"id": "18500000000000001"}


def test_unsend_is_a_delete_of_the_original_mid_with_its_own_key() -> None:
    unit = only_unit("unsend.json")
    assert unit.kind is UnitKind.DELETE
    assert_from_the_demo_customer(unit)
    assert unit.platform_message_id == igmid(200)
    assert unit.dedupe_key != only_unit("text.json").dedupe_key
    assert unit.dedupe_key.startswith("delete:")


def test_unsupported_message_is_flagged() -> None:
    unit = only_unit("unsupported.json")
    assert unit.kind is UnitKind.MESSAGE
    assert unit.unsupported
    assert unit.text is None


def test_seen_names_the_message_instead_of_a_watermark() -> None:
    unit = only_unit("seen.json")
    assert unit.kind is UnitKind.READ
    assert_from_the_demo_customer(unit)
    assert unit.watermark_ms is None
    assert unit.platform_message_id == igmid(207)
    assert unit.dedupe_key.startswith("read:")


def test_echo_has_the_customer_as_recipient_and_no_app_id() -> None:
    unit = only_unit("echo.json")
    assert unit.kind is UnitKind.ECHO
    assert_from_the_demo_customer(unit)
    assert unit.echo_app_id is None
    assert unit.text == "¡Hola! La blusa cuesta $499 MXN 💕"
    assert not unit.user_originated


def test_reaction_to_our_message() -> None:
    unit = only_unit("reaction.json")
    assert unit.kind is UnitKind.REACTION
    assert unit.reaction is not None
    assert unit.reaction.target_message_id == igmid(207)
    assert (unit.reaction.action, unit.reaction.reaction, unit.reaction.emoji) == ("react", "love", "❤")


def test_unreact_without_action_or_emoji_is_read_as_unreact() -> None:
    body = load("reaction.json")
    body["entry"][0]["messaging"][0]["reaction"] = {"mid": igmid(207)}
    (unit,) = parse_delivery(body, our_app_id=None)
    assert unit.reaction is not None
    assert unit.reaction.action == "unreact"


def test_dashboard_test_sample_in_changes_is_unusable_dashboard_test() -> None:
    unit = only_unit("dashboard_test.json")
    assert unit.kind is UnitKind.UNUSABLE
    assert unit.reason == "dashboard_test"
    assert (unit.object_type, unit.field, unit.account_id) == ("instagram", "messages", "0")


def test_media_comments_are_unusable_unhandled_field_for_now() -> None:
    unit = only_unit("comment_unhandled.json")
    assert (unit.kind, unit.reason, unit.field) == (UnitKind.UNUSABLE, "unhandled_field", "comments")
    assert unit.account_id == IG


def test_instagram_message_edit_is_an_edit() -> None:
    body = load("text.json")
    event = body["entry"][0]["messaging"][0]
    event["message_edit"] = {"mid": igmid(200), "text": "editado", "num_edit": 2}
    del event["message"]
    (unit,) = parse_delivery(body, our_app_id=None)
    assert unit.kind is UnitKind.EDIT
    assert unit.edit is not None
    assert (unit.edit.target_message_id, unit.edit.text, unit.edit.num_edit) == (igmid(200), "editado", 2)
    assert len(unit.dedupe_key) <= MAX_READABLE_KEY_LENGTH
