"""Messenger (object "page", messaging[] / standby[]) deliveries → inbound units."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inbox_crm.meta.units import InboundUnit, UnitKind
from inbox_crm.meta.webhook import message_dedupe_key, parse_delivery

EVENTS = Path(__file__).resolve().parents[2] / "events" / "messenger"
PAGE = "100000000000001"
PSID = "7000000000000001"
T0 = 1781539200000  # the samples' base time, in ms


def load(name: str) -> Any:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def units_of(name: str) -> list[InboundUnit]:
    return parse_delivery(load(name), our_app_id="999999999999999")


def only_unit(name: str) -> InboundUnit:
    units = units_of(name)
    assert len(units) == 1, units
    return units[0]


def mid(n: int) -> str:
    return f"m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu{n:06d}"


def assert_routed_to_demo_page(unit: InboundUnit) -> None:
    assert unit.platform == "messenger"
    assert unit.account_id == PAGE
    assert unit.entry_id == PAGE


# ------------------------------------------------------------------ messages


def test_text_message_keeps_emoji_zwj_sequences_and_rtl_text_exactly() -> None:
    unit = only_unit("text.json")
    assert unit.kind is UnitKind.MESSAGE
    assert_routed_to_demo_page(unit)
    assert unit.customer_id == PSID
    assert unit.timestamp_ms == T0
    assert unit.platform_message_id == mid(1)
    assert unit.dedupe_key == f"mid:messenger:{PAGE}:{mid(1)}"
    assert unit.text == load("text.json")["entry"][0]["messaging"][0]["message"]["text"]
    assert "👩\u200d👩\u200d👧\u200d👦" in (unit.text or "")
    assert "مرحبا" in (unit.text or "")
    assert unit.attachments == []
    assert unit.user_originated
    assert not unit.standby


def test_meta_escaped_body_parses_to_the_same_unicode_text() -> None:
    plain = only_unit("text.json")
    escaped = only_unit("text_escaped.json")
    assert escaped.text == f"{plain.text} https://tienda.example/precios"


def test_text_is_not_unicode_normalised() -> None:
    decomposed = "cafe\u0301"  # e + combining acute: NFC would turn it into "café"
    body = load("text.json")
    body["entry"][0]["messaging"][0]["message"]["text"] = decomposed
    (unit,) = parse_delivery(body, our_app_id=None)
    assert unit.text == decomposed


@pytest.mark.parametrize(
    ("name", "kind", "url_start"),
    [
        ("attachment_image.json", "image", "https://scontent.xx.fbcdn.net/"),
        ("attachment_video.json", "video", "https://video.xx.fbcdn.net/"),
        ("attachment_audio.json", "audio", "https://cdn.fbsbx.com/"),
        ("attachment_file.json", "file", "https://cdn.fbsbx.com/"),
    ],
)
def test_media_attachments_keep_their_type_and_cdn_url(name: str, kind: str, url_start: str) -> None:
    unit = only_unit(name)
    assert unit.kind is UnitKind.MESSAGE
    (attachment,) = unit.attachments
    assert attachment.type == kind
    assert attachment.url is not None
    assert attachment.url.startswith(url_start)
    assert attachment.payload is None  # nothing beyond the url
    assert unit.text is None


def test_location_attachment_coordinates_become_latitude_and_longitude() -> None:
    (attachment,) = only_unit("attachment_location.json").attachments
    assert attachment.type == "location"
    assert attachment.payload == {"latitude": 19.4326, "longitude": -99.1332}
    assert attachment.title == "Ubicación de María"
    assert attachment.url is not None
    assert attachment.url.startswith("https://l.facebook.com/")


def test_template_attachment_keeps_the_product_payload_as_sent() -> None:
    (attachment,) = only_unit("attachment_template.json").attachments
    assert attachment.type == "template"
    assert attachment.payload is not None
    assert attachment.payload["product"]["elements"][0]["retailer_id"] == "SKU-ROJO-M"


def test_reel_attachment_keeps_title_url_and_reel_video_id() -> None:
    (attachment,) = only_unit("attachment_reel.json").attachments
    assert attachment.type == "reel"
    assert attachment.title == "Así se ve la blusa 👗"
    assert attachment.payload == {"reel_video_id": "1180000000000001"}


def test_link_in_text_comes_with_a_fallback_attachment() -> None:
    unit = only_unit("attachment_fallback.json")
    assert unit.text == "Mira este modelo https://tienda.example/p/123"
    (attachment,) = unit.attachments
    assert attachment.type == "fallback"
    assert attachment.url == "https://tienda.example/p/123"
    assert attachment.title == "Blusa roja | Tienda Demo"


def test_fallback_without_payload_reads_title_and_url_beside_it() -> None:
    (attachment,) = only_unit("attachment_fallback_no_payload.json").attachments
    assert attachment.type == "fallback"
    assert attachment.title == "Contenido no disponible"
    assert attachment.url == "https://www.facebook.com/share/p/1AbCdEf/"
    assert attachment.payload is None


# ------------------------------------------------------------------ stickers


def test_sticker_attachment_carries_the_sticker_id_as_a_string() -> None:
    (attachment,) = only_unit("sticker.json").attachments
    assert attachment.type == "sticker"
    assert attachment.sticker_id == "369239263222822"


def test_sticker_sent_as_image_and_sticker_pair_becomes_one_sticker() -> None:
    raw = load("sticker_transition.json")["entry"][0]["messaging"][0]["message"]["attachments"]
    assert [attachment["type"] for attachment in raw] == ["image", "sticker"]
    (attachment,) = only_unit("sticker_transition.json").attachments
    assert attachment.type == "sticker"
    assert attachment.sticker_id == "369239263222822"
    assert attachment.url == raw[1]["payload"]["url"]


def test_sticker_pair_in_either_order_with_gaps_keeps_one_sticker_filled_from_both() -> None:
    body = load("sticker_transition.json")
    attachments = body["entry"][0]["messaging"][0]["message"]["attachments"]
    image, sticker = attachments
    del sticker["payload"]["url"]
    attachments[:] = [sticker, image]
    (unit,) = parse_delivery(body, our_app_id=None)
    (attachment,) = unit.attachments
    assert attachment.type == "sticker"
    assert attachment.url == image["payload"]["url"]


def test_legacy_sticker_sent_only_as_an_image_is_typed_sticker() -> None:
    (attachment,) = only_unit("sticker_legacy_image.json").attachments
    assert attachment.type == "sticker"
    assert attachment.sticker_id == "369239263222822"


def test_different_stickers_and_plain_images_are_all_kept() -> None:
    body = load("sticker_transition.json")
    attachments = body["entry"][0]["messaging"][0]["message"]["attachments"]
    attachments.append({"type": "sticker", "payload": {"url": "https://x/2.png", "sticker_id": 2}})
    attachments.append({"type": "image", "payload": {"url": "https://x/photo.jpg"}})
    (unit,) = parse_delivery(body, our_app_id=None)
    assert [(a.type, a.sticker_id) for a in unit.attachments] == [
        ("sticker", "369239263222822"),
        ("sticker", "2"),
        ("image", None),
    ]


# ------------------------------------------------------------------ quick replies, replies


def test_quick_reply_payload_is_copied() -> None:
    unit = only_unit("quick_reply.json")
    assert unit.text == "Sí, quiero cotización ✅"
    assert unit.quick_reply_payload == "QUOTE_YES"


def test_reply_to_names_the_message_answered() -> None:
    unit = only_unit("reply_to.json")
    assert unit.reply_to_message_id == mid(900)
    assert unit.reply_to_story is None


# ------------------------------------------------------------------ echoes


def test_echo_from_our_app_is_an_echo_to_the_recipient_with_app_id_and_metadata() -> None:
    unit = only_unit("echo_our_app.json")
    assert unit.kind is UnitKind.ECHO
    assert_routed_to_demo_page(unit)
    assert unit.customer_id == PSID  # the recipient: the Page is the sender of an echo
    assert unit.echo_app_id == "999999999999999"  # numeric in the payload
    assert unit.echo_metadata == "outbox:msg_01jxyz0000000000000000000"
    assert unit.platform_message_id == mid(50)
    assert unit.dedupe_key == message_dedupe_key("messenger", PAGE, mid(50))
    assert not unit.user_originated


def test_echo_from_the_page_inbox_carries_metas_inbox_app_id() -> None:
    unit = only_unit("echo_page_inbox.json")
    assert unit.kind is UnitKind.ECHO
    assert unit.echo_app_id == "263902037430900"
    assert unit.echo_metadata is None
    assert unit.text == "Te escribe Carlos del equipo de ventas 🙂"


def test_our_app_id_does_not_change_the_units() -> None:
    body = load("echo_our_app.json")
    assert parse_delivery(body, our_app_id="999999999999999") == parse_delivery(body, our_app_id=None)


# ------------------------------------------------------------------ reactions, edits


def test_reaction_react_targets_the_reacted_message() -> None:
    unit = only_unit("reaction_react.json")
    assert unit.kind is UnitKind.REACTION
    assert unit.customer_id == PSID
    assert unit.platform_message_id is None
    assert unit.reaction is not None
    assert unit.reaction.target_message_id == mid(50)
    assert unit.reaction.action == "react"
    assert unit.reaction.reaction == "love"
    assert unit.reaction.emoji == "❤️"
    assert unit.dedupe_key.startswith("reaction:")


def test_reaction_unreact_has_no_emoji_and_a_different_key_from_the_react() -> None:
    react = only_unit("reaction_react.json")
    unreact = only_unit("reaction_unreact.json")
    assert unreact.reaction is not None
    assert unreact.reaction.action == "unreact"
    assert unreact.reaction.emoji is None
    assert unreact.reaction.reaction is None
    assert unreact.dedupe_key != react.dedupe_key


def test_reaction_key_changes_with_emoji_sender_and_time_only() -> None:
    def key(**changes: Any) -> str:
        body = load("reaction_react.json")
        event = body["entry"][0]["messaging"][0]
        for name, value in changes.items():
            if name in ("emoji", "action"):
                event["reaction"][name] = value
            else:
                event[name] = value
        return parse_delivery(body, our_app_id=None)[0].dedupe_key

    base = key()
    assert key() == base
    assert key(emoji="😂") != base
    assert key(timestamp=T0 + 999) != base
    assert key(sender={"id": "7000000000000009"}) != base


def test_message_edit_names_the_message_and_edit_number() -> None:
    unit = only_unit("message_edit.json")
    assert unit.kind is UnitKind.EDIT
    assert unit.edit is not None
    assert unit.edit.target_message_id == mid(1)
    assert unit.edit.text == "Hola 👋 ¿tienen envíos a Guadalajara?"
    assert unit.edit.num_edit == 1
    assert unit.platform_message_id == mid(1)
    assert unit.dedupe_key == f"edit:messenger:{PAGE}:{mid(1)}:1"
    assert unit.dedupe_key != only_unit("text.json").dedupe_key


# ------------------------------------------------------------------ deliveries, reads


def test_delivery_carries_the_watermark_in_ms() -> None:
    unit = only_unit("delivery.json")
    assert unit.kind is UnitKind.DELIVERY
    assert unit.customer_id == PSID
    assert unit.watermark_ms == T0 + 55
    assert unit.timestamp_ms == T0 + 80
    assert unit.dedupe_key == f"delivery:messenger:{PAGE}:{PSID}:{T0 + 55}"


def test_read_carries_the_watermark_and_a_key_distinct_from_the_delivery() -> None:
    unit = only_unit("read.json")
    assert unit.kind is UnitKind.READ
    assert unit.watermark_ms == T0 + 55
    assert unit.platform_message_id is None
    assert unit.dedupe_key == f"read:messenger:{PAGE}:{PSID}:{T0 + 55}"


# ------------------------------------------------------------------ postbacks, referrals


def test_postback_with_referral_inside() -> None:
    unit = only_unit("postback.json")
    assert unit.kind is UnitKind.POSTBACK
    assert unit.postback == {"title": "Empezar", "payload": "GET_STARTED", "mid": mid(90)}
    assert unit.referral == {"ref": "promo_verano", "source": "SHORTLINK", "type": "OPEN_THREAD"}
    assert unit.platform_message_id == mid(90)
    assert unit.dedupe_key == f"postback:messenger:{PAGE}:{mid(90)}"


def test_postback_from_a_plugin_user_ref_names_the_customer_by_user_ref() -> None:
    unit = only_unit("postback_user_ref.json")
    assert unit.customer_id == "user_ref:chkbx_5f0c2a9e-1c2b-4d3e-9f00-000000000001"
    assert unit.postback is not None
    assert unit.postback["payload"] == "NOTIFY_SHIPPING"


def test_postback_without_mid_gets_a_stable_derived_key() -> None:
    body = load("postback.json")
    del body["entry"][0]["messaging"][0]["postback"]["mid"]
    first = parse_delivery(body, our_app_id=None)[0]
    again = parse_delivery(json.loads(json.dumps(body)), our_app_id=None)[0]
    assert first.kind is UnitKind.POSTBACK
    assert first.platform_message_id is None
    assert first.dedupe_key == again.dedupe_key
    assert first.dedupe_key.startswith("postback:")


def test_referral_event_copies_the_ad_context() -> None:
    unit = only_unit("referral.json")
    assert unit.kind is UnitKind.REFERRAL
    assert unit.referral is not None
    assert unit.referral["ad_id"] == "120200000000000001"
    assert unit.referral["ref"] == "campaña_junio"
    assert unit.referral["ads_context_data"]["ad_title"] == "Rebajas de junio ☀️"
    assert unit.dedupe_key.startswith("referral:")
    assert unit.user_originated


# ------------------------------------------------------------------ standby, handover, batches


def test_standby_events_are_parsed_and_flagged_standby() -> None:
    message, postback = units_of("standby.json")
    assert message.kind is UnitKind.MESSAGE
    assert message.standby
    assert message.text == "¿Me pueden atender por aquí?"
    assert postback.kind is UnitKind.POSTBACK
    assert postback.standby
    assert postback.postback == {"title": "Hablar con un asesor", "payload": None, "mid": mid(111)}


def test_standby_and_messaging_copies_of_one_message_share_a_dedupe_key() -> None:
    body = load("text.json")
    standby_body = load("text.json")
    standby_body["entry"][0]["standby"] = standby_body["entry"][0].pop("messaging")
    (active,) = parse_delivery(body, our_app_id=None)
    (passive,) = parse_delivery(standby_body, our_app_id=None)
    assert passive.standby
    assert active.dedupe_key == passive.dedupe_key


def test_handover_event_is_unusable_and_names_its_key() -> None:
    unit = only_unit("handover_pass_thread_control.json")
    assert unit.kind is UnitKind.UNUSABLE
    assert unit.reason == "unhandled_event"
    assert unit.field == "pass_thread_control"
    assert unit.object_type == "page"
    assert unit.account_id == PAGE
    assert unit.dedupe_key.startswith("unusable:")


@pytest.mark.parametrize(
    "event_key",
    ["optin", "account_linking", "policy_enforcement", "app_roles", "take_thread_control", "game_play"],
)
def test_other_messaging_events_are_unusable_unhandled_event(event_key: str) -> None:
    body = load("text.json")
    event = body["entry"][0]["messaging"][0]
    del event["message"]
    event[event_key] = {"anything": 1}
    (unit,) = parse_delivery(body, our_app_id=None)
    assert (unit.kind, unit.reason, unit.field) == (UnitKind.UNUSABLE, "unhandled_event", event_key)
    assert unit.account_id == PAGE


def test_batch_with_two_pages_produces_one_unit_per_event_routed_to_its_page() -> None:
    units = units_of("batch_two_pages.json")
    assert [(u.account_id, u.kind) for u in units] == [
        (PAGE, UnitKind.MESSAGE),
        (PAGE, UnitKind.MESSAGE),
        (PAGE, UnitKind.DELIVERY),
        (PAGE, UnitKind.READ),
        ("100000000000002", UnitKind.MESSAGE),
        ("100000000000002", UnitKind.REACTION),
    ]
    assert [u.customer_id for u in units] == [PSID, "7000000000000002", PSID, PSID] + ["7100000000000001"] * 2
    assert len({u.dedupe_key for u in units}) == len(units)


def test_generated_batch_of_1000_messages_gives_1000_units_in_order() -> None:
    entries = [
        {
            "id": f"10000000000{page:04d}",
            "time": T0,
            "messaging": [
                {
                    "sender": {"id": f"70000000{page:04d}{n:04d}"},
                    "recipient": {"id": f"10000000000{page:04d}"},
                    "timestamp": T0 + n,
                    "message": {"mid": f"m_{page}_{n}", "text": f"mensaje {n}"},
                }
                for n in range(100)
            ],
        }
        for page in range(10)
    ]
    units = parse_delivery({"object": "page", "entry": entries}, our_app_id=None)
    assert len(units) == 1000
    assert all(unit.kind is UnitKind.MESSAGE for unit in units)
    assert [unit.platform_message_id for unit in units] == [
        f"m_{p}_{n}" for p in range(10) for n in range(100)
    ]
    assert len({unit.dedupe_key for unit in units}) == 1000


# ------------------------------------------------------------------ malformed events


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda event: event["message"].pop("mid"), "malformed:missing_mid"),
        (lambda event: event.pop("sender"), "malformed:missing_sender"),
        (lambda event: event.update(message="not a dict"), "malformed:message"),
        (lambda event: event["message"].update(mid=""), "malformed:missing_mid"),
    ],
    ids=["no-mid", "no-sender", "message-not-a-dict", "empty-mid"],
)
def test_malformed_messaging_events_become_unusable_with_a_reason(mutate: Any, reason: str) -> None:
    body = load("text.json")
    mutate(body["entry"][0]["messaging"][0])
    (unit,) = parse_delivery(body, our_app_id=None)
    assert unit.kind is UnitKind.UNUSABLE
    assert unit.account_id == PAGE
    assert unit.reason == reason
    assert unit.field == "message"


def test_delivery_without_watermark_is_unusable() -> None:
    body = load("delivery.json")
    del body["entry"][0]["messaging"][0]["delivery"]["watermark"]
    (unit,) = parse_delivery(body, our_app_id=None)
    assert (unit.kind, unit.reason, unit.field) == (
        UnitKind.UNUSABLE,
        "malformed:missing_watermark",
        "delivery",
    )


def test_missing_event_timestamp_falls_back_to_the_entry_time() -> None:
    body = load("text.json")
    del body["entry"][0]["messaging"][0]["timestamp"]
    (unit,) = parse_delivery(body, our_app_id=None)
    assert unit.kind is UnitKind.MESSAGE
    assert unit.timestamp_ms == body["entry"][0]["time"]
