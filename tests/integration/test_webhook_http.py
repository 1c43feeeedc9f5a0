"""Issue 3 through the HTTP interface: Meta's samples (events/) posted, signed, to the webhook
function, drained through the inbound queue into ingestion, and read back through the inbox API."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest

from inbox_crm.ingest.unrouted import list_unrouted
from inbox_crm.workspaces import channels
from support.api import ApiClient
from support.pipeline import Pipeline, meta_json, signature_for
from support.world import World

EVENTS = Path(__file__).resolve().parents[2] / "events"
SAMPLES = sorted(EVENTS.rglob("*.json"))
BATCH_SIZE = int(os.environ.get("BATCH_SIZE", "1000"))
DEMO_PAGE, DEMO_IG, DEMO_WA = "100000000000001", "17841400000000001", "100000000000099"


def sample(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text(encoding="utf-8"))


@pytest.fixture
def inbox(world: World, pipeline: Pipeline) -> Pipeline:
    """ws_alpha owns the demo Page, Instagram account and WhatsApp number the samples are sent to."""
    channels.register_channel("ws_alpha", "messenger", DEMO_PAGE, "Tienda (Facebook)", "usr_alpha_owner")
    channels.register_channel("ws_alpha", "instagram", DEMO_IG, "@tienda", "usr_alpha_owner")
    channels.register_channel("ws_alpha", "whatsapp", DEMO_WA, "+52 55 1234 5678", "usr_alpha_owner")
    return pipeline


def deliver(pipeline: Pipeline, *names: str) -> None:
    for name in names:
        reply = pipeline.post(sample(name))
        assert reply.status == 200, (name, reply.text)
        assert reply.text == "EVENT_RECEIVED"
    pipeline.drain()
    assert pipeline.queued() == 0


def conversations(api: ApiClient, **query: str) -> list[dict[str, Any]]:
    reply = api.get("/v1/conversations", query=query)
    assert reply.status == 200, reply.text
    return reply.json()["items"]


def messages(api: ApiClient, conversation_id: str) -> list[dict[str, Any]]:
    reply = api.get(f"/v1/conversations/{conversation_id}/messages", query={"limit": "200"})
    assert reply.status == 200, reply.text
    return reply.json()["items"]


# ------------------------------------------------------------------ transport


def test_verification_handshake_echoes_the_challenge_verbatim(pipeline: Pipeline) -> None:
    reply = pipeline.verify(
        {"hub.mode": "subscribe", "hub.verify_token": "test-verify-token", "hub.challenge": "0012ab"}
    )
    assert (reply.status, reply.text) == (200, "0012ab")
    wrong = pipeline.verify({"hub.mode": "subscribe", "hub.verify_token": "nope", "hub.challenge": "1"})
    assert wrong.status == 403


def test_unsigned_or_wrongly_signed_bodies_store_nothing(inbox: Pipeline) -> None:
    body = sample("messenger/text.json")
    assert inbox.post(body, signature=None).status == 401
    assert inbox.post(body, signature="sha256=" + "0" * 64).status == 403
    assert inbox.post(body, signature=signature_for(meta_json(body), "another-secret")).status == 403
    # legacy sha1 header value is refused too
    assert inbox.post(body, signature="sha1=" + "0" * 40).status == 403
    assert inbox.queued() == 0


def test_a_second_configured_app_secret_is_accepted(inbox: Pipeline) -> None:
    raw = meta_json(sample("messenger/text.json"))
    assert inbox.post(raw=raw, signature=signature_for(raw, "second-app-secret")).status == 200


def test_signature_is_checked_over_the_raw_bytes_meta_sent(inbox: Pipeline, api: ApiClient) -> None:
    """Meta sends escaped unicode; re-serialising the JSON would change the bytes and the HMAC."""
    raw = meta_json(sample("messenger/text.json"))
    assert b"\\u" in raw
    assert inbox.post(raw=raw).status == 200
    inbox.drain()
    [conversation] = conversations(api)
    assert "👋" in messages(api, conversation["id"])[0]["text"]


def test_base64_encoded_bodies_are_decoded_before_verification(inbox: Pipeline) -> None:
    from webhook_handler import lambda_handler

    from inbox_local.apigw import http_api_event, lambda_context

    raw = meta_json(sample("messenger/text.json"))
    event = http_api_event(
        "POST", "/webhooks/meta", headers={"X-Hub-Signature-256": signature_for(raw)}, body=raw
    )
    event["body"] = base64.b64encode(raw).decode()
    event["isBase64Encoded"] = True
    assert lambda_handler(event, lambda_context())["statusCode"] == 200


def _recorded() -> dict[str, str]:
    """Recorded unusable deliveries: delivery id -> reason."""
    from inbox_crm.store.models import InboxItem, UnroutedDelivery

    return {item.delivery_id: item.reason for item in InboxItem.scan() if isinstance(item, UnroutedDelivery)}


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"{not json", "unreadable:malformed_json"),
        (b"\xff\xfe garbage", "unreadable:invalid_utf8"),
        (b"", "unreadable:malformed_json"),
        (b"[" * 100_000 + b"]" * 100_000, "unreadable:too_deep"),
        (b'{"object":"page","entry":' + b'{"a":' * 40 + b"1" + b"}" * 41, "unreadable:too_deep"),
    ],
    ids=["not-json", "not-utf8", "empty", "deep-array", "deep-object"],
)
def test_signed_bodies_we_cannot_read_are_acknowledged_and_recorded(
    inbox: Pipeline, raw: bytes, reason: str
) -> None:
    # Refusing a validly signed body only makes Meta retry it for days: answer 200, keep a record.
    reply = inbox.post(raw=raw)
    assert (reply.status, reply.text) == (200, "EVENT_RECEIVED")
    assert not any(result["batchItemFailures"] for result in inbox.drain())
    recorded = _recorded()
    assert list(recorded.values()) == [reason]
    # Meta's retry of the same body is recorded once
    assert inbox.post(raw=raw).status == 200
    inbox.drain()
    assert _recorded() == recorded


@pytest.mark.parametrize("size", [1_000_000, 1_100_000])
def test_an_oversized_text_is_stored_cut_and_marked(inbox: Pipeline, api: ApiClient, size: int) -> None:
    body = sample("messenger/text.json")
    text = "Hola ñandú 👋 " + "x" * size
    body["entry"][0]["messaging"][0]["message"]["text"] = text
    reply = inbox.post(body)
    assert reply.status == 200, reply.text
    queued = [message["body"] for message in inbox.take_queued()]
    assert len(queued) == 1
    assert len(queued[0].encode("utf-8")) <= 256 * 1024  # fits SQS's classic message limit
    inbox.ingest_bodies(queued)  # asserts that no record failed
    [conversation] = conversations(api)
    [message] = messages(api, conversation["id"])
    assert message["truncated"] is True
    assert text.startswith(message["text"])
    assert 4096 < len(message["text"]) < len(text)
    assert [event.name for event in inbox.events("MessageReceived")] == ["MessageReceived"]


def test_oversize_body_is_413(inbox: Pipeline) -> None:
    raw = b'{"object":"page","entry":[],"pad":"' + b"x" * (5 * 1024 * 1024) + b'"}'
    assert inbox.post(raw=raw).status == 413


def test_signed_but_unroutable_deliveries_are_acknowledged_and_recorded_for_their_workspace_only(
    inbox: Pipeline, api: ApiClient
) -> None:
    deliver(inbox, "whatsapp/dashboard_test.json", "messenger/handover_pass_thread_control.json")
    other_page = sample("messenger/text.json")
    other_page["entry"][0]["id"] = "555000555000"
    assert inbox.post(other_page).status == 200
    inbox.drain()
    assert conversations(api) == []
    reply = api.get("/v1/webhooks/unrouted", as_="alpha_manager")
    assert reply.status == 200
    # Only the delivery for alpha's own Page; accounts nobody connected are for operators only.
    assert {(item["account_id"], item["reason"]) for item in reply.json()["items"]} == {
        (DEMO_PAGE, "unhandled_event")
    }
    assert api.get("/v1/webhooks/unrouted", as_="beta_owner").json()["items"] == []
    operators = list_unrouted(None, 50, None).items
    assert {(item.account_id, item.reason) for item in operators} == {
        ("555000555000", "unknown_account"),
        ("123456123", "unknown_account"),  # Meta's dashboard test number
    }
    assert api.get("/v1/webhooks/unrouted", as_="alpha_agent").status == 403


# ------------------------------------------------------------------ every sample


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_sample_is_acknowledged_and_a_replay_changes_nothing(
    inbox: Pipeline, api: ApiClient, path: Path
) -> None:
    from inbox_crm.store.models import InboxItem

    def stored() -> set[tuple[str, str]]:
        return {(item.pk, item.sk) for item in InboxItem.scan()}

    body = json.loads(path.read_text(encoding="utf-8"))
    assert inbox.post(body).status == 200
    inbox.drain()
    first_events = len(inbox.events())
    items = stored()
    assert inbox.post(body).status == 200
    inbox.drain()
    assert stored() == items
    assert len(inbox.events()) == first_events


# ------------------------------------------------------------------ what is understood


def test_messenger_message_opens_a_conversation_with_events(inbox: Pipeline, api: ApiClient) -> None:
    deliver(inbox, "messenger/text.json")
    [conversation] = conversations(api)
    assert conversation["channel"] == "messenger"
    assert conversation["contact_id"] is None
    assert conversation["registered"] is False
    assert conversation["unread_count"] == 1
    assert conversation["reply_window"]["open"] in (True, False)
    names = [event.name for event in inbox.events()]
    assert names.count("ConversationOpened") == 1
    assert names.count("MessageReceived") == 1
    opened = inbox.events("ConversationOpened")[0].detail
    assert opened["channel"] == "messenger"
    assert opened["workspace_id"] == "ws_alpha"
    assert opened["metadata"]["correlation_id"]


def test_messenger_attachments_quick_replies_and_sticker_transition(inbox: Pipeline, api: ApiClient) -> None:
    deliver(
        inbox,
        "messenger/attachment_image.json",
        "messenger/attachment_location.json",
        "messenger/sticker_transition.json",
        "messenger/quick_reply.json",
        "messenger/reply_to.json",
    )
    [conversation] = conversations(api)
    stored = messages(api, conversation["id"])
    kinds = [[a["type"] for a in m["attachments"]] for m in stored]
    assert ["image"] in kinds
    assert ["location"] in kinds
    assert ["sticker"] in kinds  # the image+sticker pair counted once
    assert any(m["data"].get("quick_reply_payload") for m in stored)
    assert any(m["reply_to"] for m in stored)


def test_echoes_reactions_edits_and_watermarks(inbox: Pipeline, api: ApiClient) -> None:
    deliver(inbox, "messenger/text.json", "messenger/echo_page_inbox.json", "messenger/echo_our_app.json")
    [conversation] = conversations(api)
    stored = messages(api, conversation["id"])
    origins = {m["origin"] for m in stored if m["direction"] == "outbound"}
    assert origins == {"meta_inbox", "app"}
    before = conversations(api)[0]["last_inbound_at"]
    deliver(inbox, "messenger/delivery.json", "messenger/read.json")
    assert conversations(api)[0]["last_inbound_at"] == before
    statuses = {m["status"] for m in messages(api, conversation["id"]) if m["direction"] == "outbound"}
    assert statuses & {"delivered", "read"}


def test_instagram_story_mention_deleted_and_unsupported(inbox: Pipeline, api: ApiClient) -> None:
    deliver(
        inbox,
        "instagram/text.json",
        "instagram/story_mention.json",
        "instagram/unsupported.json",
        "instagram/ig_post_share.json",
    )
    [conversation] = conversations(api, channel="instagram")
    stored = messages(api, conversation["id"])
    mention = next(a for m in stored for a in m["attachments"] if a["type"] == "story_mention")
    assert mention["url"].startswith("https://")
    assert any(m["data"].get("unsupported") for m in stored)
    assert any(a["type"] == "ig_post" for m in stored for a in m["attachments"])


def test_whatsapp_media_contact_cards_interactive_and_statuses(inbox: Pipeline, api: ApiClient) -> None:
    deliver(
        inbox,
        "whatsapp/text_with_profile.json",
        "whatsapp/audio_voice.json",
        "whatsapp/contacts_card.json",
        "whatsapp/interactive_button_reply.json",
        "whatsapp/location.json",
    )
    [conversation] = conversations(api, channel="whatsapp")
    assert conversation["display_name"] == "María Pérez"
    assert conversation["handle"] == "+5215512340001"
    stored = messages(api, conversation["id"])
    voice = next(a for m in stored for a in m["attachments"] if a["type"] == "audio")
    assert voice["media_id"]
    assert any(a["type"] == "contacts" for m in stored for a in m["attachments"])
    assert any(m["data"].get("interactive") for m in stored)
    from inbox_crm.store.models import Contact, InboxItem

    assert not [item for item in InboxItem.scan() if isinstance(item, Contact)]  # no CRM contact by ingestion


def test_whatsapp_sender_without_profile_or_phone(inbox: Pipeline, api: ApiClient) -> None:
    deliver(inbox, "whatsapp/text_without_profile.json", "whatsapp/text_bsuid_only.json")
    items = conversations(api, channel="whatsapp")
    assert len(items) == 2
    assert all(item["display_name"] or item["handle"] for item in items)


def test_page_comments_nest_and_stay_apart_from_messenger(inbox: Pipeline, api: ApiClient) -> None:
    deliver(
        inbox,
        "comments/add_top_level.json",
        "comments/reply.json",
        "comments/page_own_comment.json",
        "comments/reaction_item.json",
        "comments/status_item.json",
    )
    comment_threads = [c for c in conversations(api) if c["kind"] == "comment"]
    assert comment_threads
    assert len(inbox.events("CommentReceived")) >= 1
    page_authored = [
        m for c in comment_threads for m in messages(api, c["id"]) if m["direction"] == "outbound"
    ]
    assert page_authored, "the Page's own comment is stored as ours"


def test_a_thousand_event_batch_is_fully_stored(inbox: Pipeline, api: ApiClient) -> None:
    template = sample("messenger/text.json")["entry"][0]["messaging"][0]
    events = []
    for n in range(BATCH_SIZE):
        event = json.loads(json.dumps(template))
        event["sender"]["id"] = f"70000000{n % 20:08d}"
        event["timestamp"] += n
        event["message"]["mid"] = f"m_batch_{n}"
        events.append(event)
    body = {"object": "page", "entry": [{"id": DEMO_PAGE, "time": 1, "messaging": events}]}
    assert inbox.post(body).status == 200
    queued = inbox.take_queued()
    assert len(queued) == BATCH_SIZE
    assert len({message["group"] for message in queued}) == 20  # one FIFO group per sender
    inbox.ingest_bodies([message["body"] for message in queued])
    assert len(inbox.events("MessageReceived")) == BATCH_SIZE
    assert len(conversations(api, limit="100")) == 20


def test_fifty_concurrent_deliveries_of_a_new_sender_through_http(inbox: Pipeline, api: ApiClient) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from inbox_crm.store.models import Conversation, Identity, InboxItem, Message

    body = sample("whatsapp/text_with_profile.json")
    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(lambda _: inbox.post(body).status, range(50)))
    assert statuses == [200] * 50
    inbox.drain()
    items = list(InboxItem.scan())
    assert len([i for i in items if isinstance(i, Identity)]) == 1
    assert len([i for i in items if isinstance(i, Conversation)]) == 1
    assert len([i for i in items if isinstance(i, Message)]) == 1
    assert len(inbox.events("MessageReceived")) == 1
    assert len(inbox.events("ConversationOpened")) == 1
