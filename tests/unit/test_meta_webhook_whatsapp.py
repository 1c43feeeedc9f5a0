"""WhatsApp Cloud API (object "whatsapp_business_account") deliveries → inbound units."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from inbox_crm.meta.units import InboundUnit, UnitKind
from inbox_crm.meta.webhook import UNKNOWN_TIME_MS, parse_delivery

EVENTS = Path(__file__).resolve().parents[2] / "events" / "whatsapp"
PNID = "100000000000099"
WABA = "100000000000088"
WA_ID = "5215512340001"
BSUID = "MX.1349120865530274191"
S0 = 1781539200  # the samples' base time, in seconds


def load(name: str) -> Any:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


def units_of(name: str) -> list[InboundUnit]:
    return parse_delivery(load(name), our_app_id=None)


def only_unit(name: str) -> InboundUnit:
    units = units_of(name)
    assert len(units) == 1, units
    return units[0]


def wamid(n: int) -> str:
    return f"wamid.HBgNNTIxNTUxMjM0MDAwMRUCABIYFjNFQjBBMEI2MkE3QUU0NjY5QTM2{n:06d}AA"


def our_wamid(n: int) -> str:
    return f"wamid.HBgNNTIxNTUxMjM0MDAwMRUCABEYEjQ4QjJFNTE3RjY5MDhGNzQ4{n:06d}AA"


def first_message(body: Any) -> dict[str, Any]:
    message: dict[str, Any] = body["entry"][0]["changes"][0]["value"]["messages"][0]
    return message


def assert_from_maria(unit: InboundUnit) -> None:
    assert unit.platform == "whatsapp"
    assert unit.account_id == PNID  # routing: the phone number, not the WABA
    assert unit.entry_id == WABA
    assert unit.customer_id == WA_ID
    assert unit.customer_bsuid == BSUID
    assert unit.customer_name == "María Pérez"


# ------------------------------------------------------------------ senders and profiles


def test_text_with_profile() -> None:
    unit = only_unit("text_with_profile.json")
    assert unit.kind is UnitKind.MESSAGE
    assert_from_maria(unit)
    assert unit.text == "Hola, buenas tardes 🌮 ¿siguen abiertos? ¿cuánto cuesta el envío?"
    assert unit.timestamp_ms == (S0 + 300) * 1000  # a string of seconds, in ms
    assert unit.platform_message_id == wamid(300)
    assert unit.dedupe_key == f"wa:{PNID}:{wamid(300)}"
    assert unit.user_originated


def test_text_without_profile_has_no_name() -> None:
    unit = only_unit("text_without_profile.json")
    assert unit.customer_id == "5215512340002"
    assert unit.customer_name is None
    assert unit.customer_bsuid is None
    assert unit.text == "hola"


def test_bsuid_only_sender_is_keyed_by_the_bsuid_with_username() -> None:
    unit = only_unit("text_bsuid_only.json")
    assert unit.kind is UnitKind.MESSAGE
    assert unit.customer_id == "MX.8400113456789012345"
    assert unit.customer_bsuid == "MX.8400113456789012345"
    assert unit.customer_name == "Ana"
    assert unit.customer_username == "ana.compras"


def test_a_plus_prefixed_from_is_stored_as_digits() -> None:
    body = load("text_with_profile.json")
    first_message(body)["from"] = "+" + WA_ID
    (unit,) = parse_delivery(body, our_app_id=None)
    assert unit.customer_id == WA_ID
    assert unit.customer_name == "María Pérez"  # still matched to contacts[].wa_id


def test_contacts_are_matched_to_each_message_by_wa_id() -> None:
    units = [u for u in units_of("batch_two_numbers.json") if u.kind is UnitKind.MESSAGE]
    assert [(u.customer_id, u.customer_name) for u in units] == [
        (WA_ID, "María Pérez"),
        ("5215512340003", "Luis"),
        ("5218112340004", "Sucursal Norte cliente"),
    ]


# ------------------------------------------------------------------ media and other types


@pytest.mark.parametrize(
    ("name", "kind", "media_id", "mime_type"),
    [
        ("image.json", "image", "1780000000000310", "image/jpeg"),
        ("audio_voice.json", "audio", "1780000000000311", "audio/ogg; codecs=opus"),
        ("video.json", "video", "1780000000000312", "video/mp4"),
        ("document.json", "document", "1780000000000313", "application/pdf"),
        ("sticker.json", "sticker", "1780000000000314", "image/webp"),
    ],
)
def test_media_messages_carry_the_media_id_to_fetch(
    name: str, kind: str, media_id: str, mime_type: str
) -> None:
    unit = only_unit(name)
    assert unit.kind is UnitKind.MESSAGE
    assert_from_maria(unit)
    (attachment,) = unit.attachments
    assert (attachment.type, attachment.media_id, attachment.mime_type) == (kind, media_id, mime_type)
    assert attachment.sha256


def test_image_keeps_caption_and_url_when_sent() -> None:
    (attachment,) = only_unit("image.json").attachments
    assert attachment.caption == "Así llegó el paquete 📦"
    assert attachment.url is not None
    assert attachment.url.startswith("https://lookaside.fbsbx.com/whatsapp_business/")


def test_media_without_url_works_with_the_id_only() -> None:
    (attachment,) = only_unit("video.json").attachments
    assert attachment.url is None
    assert attachment.media_id == "1780000000000312"


def test_voice_note_is_flagged_voice() -> None:
    (attachment,) = only_unit("audio_voice.json").attachments
    assert attachment.voice is True


def test_document_keeps_its_filename_exactly() -> None:
    (attachment,) = only_unit("document.json").attachments
    assert attachment.filename == "constancia_situación_fiscal.pdf"
    assert attachment.caption == "Mi constancia fiscal"


def test_sticker_keeps_animated_in_the_payload() -> None:
    (attachment,) = only_unit("sticker.json").attachments
    assert attachment.payload == {"animated": False}


def test_location() -> None:
    (attachment,) = only_unit("location.json").attachments
    assert attachment.type == "location"
    assert attachment.payload == {
        "latitude": 19.4326077,
        "longitude": -99.133208,
        "name": "Zócalo",
        "address": "Plaza de la Constitución S/N, Centro, CDMX",
        "url": "https://maps.example/zocalo",
    }


def test_shared_contact_card_is_an_attachment_not_a_crm_contact() -> None:
    unit = only_unit("contacts_card.json")
    assert unit.kind is UnitKind.MESSAGE
    assert unit.customer_name == "María Pérez"  # the sender, from value.contacts
    (attachment,) = unit.attachments
    assert attachment.type == "contacts"
    assert attachment.payload is not None
    (card,) = attachment.payload["contacts"]
    assert card["name"]["formatted_name"] == "Juan López"
    assert card["phones"][0]["wa_id"] == "5215512340009"


def test_interactive_button_reply() -> None:
    unit = only_unit("interactive_button_reply.json")
    assert unit.interactive == {"type": "button_reply", "id": "confirmar_cita", "title": "Confirmar ✅"}
    assert unit.text == "Confirmar ✅"
    assert unit.reply_to_message_id == our_wamid(1)


def test_interactive_list_reply() -> None:
    unit = only_unit("interactive_list_reply.json")
    assert unit.interactive == {
        "type": "list_reply",
        "id": "sucursal_centro",
        "title": "Sucursal Centro",
        "description": "Av. Juárez 10, CDMX",
    }
    assert unit.text == "Sucursal Centro"
    assert unit.reply_to_message_id == our_wamid(2)


def test_flows_reply_is_kept_as_sent() -> None:
    body = load("interactive_button_reply.json")
    first_message(body)["interactive"] = {
        "type": "nfm_reply",
        "nfm_reply": {"response_json": '{"flow_token": "t"}', "body": "Sent", "name": "flow"},
    }
    (unit,) = parse_delivery(body, our_app_id=None)
    assert unit.interactive == {
        "type": "nfm_reply",
        "response_json": '{"flow_token": "t"}',
        "body": "Sent",
        "name": "flow",
    }
    assert unit.text == "Sent"


def test_template_quick_reply_button() -> None:
    unit = only_unit("template_button.json")
    assert unit.interactive == {
        "type": "button",
        "payload": "STOP_PROMOS",
        "text": "Ya no quiero promociones",
    }
    assert unit.text == "Ya no quiero promociones"
    assert unit.reply_to_message_id == our_wamid(3)


def test_reaction_has_its_own_wamid_and_targets_our_message() -> None:
    unit = only_unit("reaction.json")
    assert unit.kind is UnitKind.REACTION
    assert_from_maria(unit)
    assert unit.platform_message_id == wamid(340)
    assert unit.dedupe_key == f"wa:{PNID}:{wamid(340)}"
    assert unit.reaction is not None
    assert (unit.reaction.target_message_id, unit.reaction.action) == (our_wamid(1), "react")
    assert unit.reaction.emoji == "👍🏽"


def test_reaction_without_emoji_is_an_unreact() -> None:
    unit = only_unit("reaction_removed.json")
    assert unit.reaction is not None
    assert unit.reaction.action == "unreact"
    assert unit.reaction.emoji is None


def test_order_is_a_message_with_an_order_attachment() -> None:
    unit = only_unit("order.json")
    assert unit.kind is UnitKind.MESSAGE
    assert unit.text == "Lo quiero para el viernes"
    (attachment,) = unit.attachments
    assert attachment.type == "order"
    assert attachment.payload is not None
    assert attachment.payload["product_items"][0]["product_retailer_id"] == "SKU-ROJO-M"


def test_click_to_whatsapp_referral_is_copied() -> None:
    unit = only_unit("ctwa_referral.json")
    assert unit.referral is not None
    assert unit.referral["source_type"] == "ad"
    assert unit.referral["ctwa_clid"].startswith("ARAk")
    assert unit.referral["welcome_message"] == {"text": "¡Hola! ¿En qué te ayudamos?"}


def test_product_enquiry_referred_product_joins_the_referral() -> None:
    body = load("text_with_profile.json")
    product = {"catalog_id": "900000000000001", "product_retailer_id": "SKU-ROJO-M"}
    first_message(body)["context"] = {"from": "525512345678", "id": our_wamid(9), "referred_product": product}
    (unit,) = parse_delivery(body, our_app_id=None)
    assert unit.referral == {"referred_product": product}
    assert unit.reply_to_message_id == our_wamid(9)


def test_forwarded_message_is_flagged() -> None:
    assert only_unit("forwarded.json").forwarded
    assert not only_unit("text_with_profile.json").forwarded


def test_frequently_forwarded_counts_as_forwarded() -> None:
    body = load("forwarded.json")
    first_message(body)["context"] = {"frequently_forwarded": True}
    (unit,) = parse_delivery(body, our_app_id=None)
    assert unit.forwarded


# ------------------------------------------------------------------ system, unsupported, unknown


def test_user_changed_number_moves_the_customer_to_the_new_wa_id() -> None:
    unit = only_unit("user_changed_number.json")
    assert unit.kind is UnitKind.NUMBER_CHANGE
    assert unit.customer_id == WA_ID
    assert unit.new_customer_id == "5215512340077"
    assert unit.text == "María Pérez changed from 5215512340001 to 5215512340077"
    assert unit.customer_name is None  # system messages have no contacts
    assert not unit.user_originated


def test_user_changed_user_id_puts_the_new_bsuid_in_new_customer_id() -> None:
    unit = only_unit("user_changed_user_id.json")
    assert unit.kind is UnitKind.NUMBER_CHANGE
    assert unit.customer_id == WA_ID
    assert unit.customer_bsuid == BSUID
    assert unit.new_customer_id == "MX.5521000000000000077"


def test_unknown_system_type_is_unusable() -> None:
    body = load("user_changed_number.json")
    first_message(body)["system"] = {"type": "customer_identity_changed", "body": "x", "identity": "abc"}
    (unit,) = parse_delivery(body, our_app_id=None)
    assert (unit.kind, unit.reason, unit.field, unit.account_id) == (
        UnitKind.UNUSABLE,
        "unhandled_system_type",
        "messages",
        PNID,
    )


def test_unsupported_message_keeps_its_errors() -> None:
    unit = only_unit("unsupported.json")
    assert unit.kind is UnitKind.MESSAGE
    assert unit.unsupported
    assert [error["code"] for error in unit.errors] == [131051]
    (attachment,) = unit.attachments
    assert attachment.type == "unsupported"
    assert attachment.payload == {"type": "poll_creation"}


@pytest.mark.parametrize("message_type", ["edit", "revoke", "poll", ""])
def test_unknown_message_types_are_unsupported_messages(message_type: str) -> None:
    body = load("text_with_profile.json")
    message = first_message(body)
    message["type"] = message_type
    del message["text"]
    (unit,) = parse_delivery(body, our_app_id=None)
    assert unit.kind is UnitKind.MESSAGE
    assert unit.unsupported
    assert unit.attachments[0].type == "unsupported"
    assert unit.dedupe_key == f"wa:{PNID}:{wamid(300)}"


def test_message_level_errors_are_copied_for_any_type() -> None:
    body = load("text_with_profile.json")
    error = {"code": 131060, "title": "This message is currently unavailable"}
    first_message(body)["errors"] = [error]
    (unit,) = parse_delivery(body, our_app_id=None)
    assert unit.errors == [error]


@pytest.mark.parametrize(
    ("field", "reason"),
    [("id", "malformed:missing_id"), ("from", "malformed:missing_from")],
)
def test_messages_without_id_or_sender_are_unusable(field: str, reason: str) -> None:
    body = load("text_without_profile.json")
    del first_message(body)[field]
    (unit,) = parse_delivery(body, our_app_id=None)
    assert (unit.kind, unit.reason, unit.field, unit.account_id) == (
        UnitKind.UNUSABLE,
        reason,
        "messages",
        PNID,
    )


def test_message_without_timestamp_has_the_unknown_time_not_the_parse_time() -> None:
    body = load("text_with_profile.json")
    del first_message(body)["timestamp"]
    (unit,) = parse_delivery(body, our_app_id=None)
    assert unit.kind is UnitKind.MESSAGE
    assert unit.timestamp_ms == UNKNOWN_TIME_MS


# ------------------------------------------------------------------ statuses


@pytest.mark.parametrize(
    ("name", "status", "offset"),
    [
        ("status_sent.json", "sent", 400),
        ("status_delivered.json", "delivered", 401),
        ("status_read.json", "read", 402),
        ("status_failed.json", "failed", 403),
    ],
)
def test_statuses_of_our_messages(name: str, status: str, offset: int) -> None:
    unit = only_unit(name)
    assert unit.kind is UnitKind.STATUS
    assert (unit.account_id, unit.entry_id) == (PNID, WABA)
    assert unit.customer_id == WA_ID
    assert unit.customer_bsuid == BSUID
    assert unit.status is not None
    assert unit.status.status == status
    assert unit.timestamp_ms == (S0 + offset) * 1000
    assert unit.dedupe_key == f"wa:{PNID}:{unit.platform_message_id}:{status}"
    assert not unit.user_originated


def test_sent_status_carries_callback_data_and_pricing_category() -> None:
    unit = only_unit("status_sent.json")
    assert unit.status is not None
    assert unit.status.callback_data == "outbox:msg_01jxyz0000000000000000001"
    assert unit.status.pricing_category == "service"
    assert unit.platform_message_id == our_wamid(1)


def test_the_same_message_gets_a_distinct_key_per_status() -> None:
    keys = {only_unit(f"status_{s}.json").dedupe_key for s in ("sent", "delivered", "read")}
    assert len(keys) == 3


def test_failed_status_carries_the_first_error_and_all_errors() -> None:
    unit = only_unit("status_failed.json")
    assert unit.status is not None
    assert unit.status.error_code == 131047
    assert unit.status.error_title == "Re-engagement message"
    assert unit.status.error_message == "Re-engagement message"
    assert [error["code"] for error in unit.errors] == [131047]
    assert "24 hours" in unit.errors[0]["error_data"]["details"]


def test_failed_status_without_message_uses_the_error_details() -> None:
    body = load("status_failed.json")
    del body["entry"][0]["changes"][0]["value"]["statuses"][0]["errors"][0]["message"]
    (unit,) = parse_delivery(body, our_app_id=None)
    assert unit.status is not None
    assert unit.status.error_message is not None
    assert unit.status.error_message.startswith("Message failed to send")


def test_unknown_status_value_is_unusable() -> None:
    body = load("status_sent.json")
    body["entry"][0]["changes"][0]["value"]["statuses"][0]["status"] = "warning"
    (unit,) = parse_delivery(body, our_app_id=None)
    assert (unit.kind, unit.reason, unit.field) == (UnitKind.UNUSABLE, "unhandled_status", "statuses")


# ------------------------------------------------------------------ account errors, other fields


def test_value_level_errors_are_account_errors_without_a_time() -> None:
    unit = only_unit("account_errors.json")
    assert unit.kind is UnitKind.ACCOUNT_ERROR
    assert (unit.account_id, unit.entry_id) == (PNID, WABA)
    assert unit.customer_id is None
    assert [error["code"] for error in unit.errors] == [130429]
    assert unit.timestamp_ms == UNKNOWN_TIME_MS  # Meta sends none; never the parse time
    assert unit.dedupe_key.startswith("wa-error:")


def test_each_value_level_error_is_its_own_unit() -> None:
    body = load("account_errors.json")
    errors = body["entry"][0]["changes"][0]["value"]["errors"]
    errors.append({"code": 131000, "title": "Something went wrong"})
    units = parse_delivery(body, our_app_id=None)
    assert [unit.errors[0]["code"] for unit in units] == [130429, 131000]
    assert units[0].dedupe_key != units[1].dedupe_key


def test_other_whatsapp_fields_are_unhandled_field_routed_to_the_waba() -> None:
    unit = only_unit("template_status_update.json")
    assert (unit.kind, unit.reason, unit.field) == (
        UnitKind.UNUSABLE,
        "unhandled_field",
        "message_template_status_update",
    )
    assert unit.account_id == WABA
    assert unit.platform == "whatsapp"


def test_value_without_phone_number_id_is_malformed() -> None:
    body = load("text_with_profile.json")
    del body["entry"][0]["changes"][0]["value"]["metadata"]
    (unit,) = parse_delivery(body, our_app_id=None)
    assert (unit.kind, unit.reason, unit.account_id) == (
        UnitKind.UNUSABLE,
        "malformed:missing_phone_number_id",
        WABA,
    )


def test_value_with_contacts_only_is_one_unusable_unit() -> None:
    body = load("text_with_profile.json")
    del body["entry"][0]["changes"][0]["value"]["messages"]
    (unit,) = parse_delivery(body, our_app_id=None)
    assert (unit.kind, unit.reason, unit.account_id) == (UnitKind.UNUSABLE, "empty_value", PNID)


# ------------------------------------------------------------------ batches and the dashboard test


def test_batch_with_two_phone_numbers_mixes_messages_and_statuses() -> None:
    units = units_of("batch_two_numbers.json")
    assert [(u.account_id, u.kind) for u in units] == [
        (PNID, UnitKind.MESSAGE),
        (PNID, UnitKind.MESSAGE),
        (PNID, UnitKind.STATUS),
        (PNID, UnitKind.STATUS),
        ("100000000000098", UnitKind.MESSAGE),
    ]
    assert {u.entry_id for u in units} == {WABA}
    assert len({u.dedupe_key for u in units}) == 5


def test_dashboard_test_sample_parses_like_any_message() -> None:
    unit = only_unit("dashboard_test.json")
    assert unit.kind is UnitKind.MESSAGE
    assert (unit.account_id, unit.entry_id) == ("123456123", "0")
    assert (unit.customer_id, unit.customer_name) == ("16315551181", "test user name")
    assert unit.text == "this is a text message"
    assert unit.timestamp_ms == 1504902988000


def test_generated_batch_of_1000_elements_gives_1000_units() -> None:
    messages = [
        {
            "from": f"52155{n:08d}",
            "id": f"wamid.gen{n:05d}",
            "timestamp": str(S0 + n),
            "type": "text",
            "text": {"body": f"m{n}"},
        }
        for n in range(600)
    ]
    statuses = [
        {
            "id": f"wamid.out{n:05d}",
            "status": "delivered",
            "timestamp": str(S0 + n),
            "recipient_id": "5215500000001",
        }
        for n in range(399)
    ]
    body = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": WABA,
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "525512345678", "phone_number_id": PNID},
                            "messages": messages,
                            "statuses": statuses,
                            "errors": [{"code": 130429, "title": "Rate limit hit"}],
                        },
                    }
                ],
            }
        ],
    }
    units = parse_delivery(body, our_app_id=None)
    assert len(units) == 1000
    assert sum(u.kind is UnitKind.MESSAGE for u in units) == 600
    assert sum(u.kind is UnitKind.STATUS for u in units) == 399
    assert sum(u.kind is UnitKind.ACCOUNT_ERROR for u in units) == 1
    assert len({u.dedupe_key for u in units}) == 1000
