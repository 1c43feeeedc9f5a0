"""Ingestion rules: stored once, in platform order, identities unique, windows moved only by customers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from inbox_crm.inbox.conversations import InboxFilter, list_conversations, list_messages
from inbox_crm.ingest.pipeline import ingest
from inbox_crm.meta.units import UnitComment, UnitEdit, UnitKind, UnitReaction, UnitStatus
from inbox_crm.store.models import Conversation, Identity, InboxItem, Message, UnroutedDelivery
from inbox_crm.workspaces import channels
from support.units import BASE_MS, IG_ACCOUNT, PAGE, WA_NUMBER, unit
from support.world import World


@pytest.fixture
def registered(world: World) -> World:
    channels.register_channel("ws_alpha", "messenger", PAGE, "Alpha FB", "usr_alpha_owner")
    channels.register_channel("ws_alpha", "instagram", IG_ACCOUNT, "Alpha IG", "usr_alpha_owner")
    channels.register_channel("ws_alpha", "whatsapp", WA_NUMBER, "Alpha WA", "usr_alpha_owner")
    return world


def _items(model: type[InboxItem]) -> list[InboxItem]:
    return [item for item in InboxItem.scan() if isinstance(item, model)]


def _only_conversation() -> Conversation:
    conversations = _items(Conversation)
    assert len(conversations) == 1
    return conversations[0]  # type: ignore[return-value]


def _messages(conversation_id: str) -> list[Message]:
    return list_messages("ws_alpha", conversation_id, 200, None)[1].items


def test_first_message_creates_identity_conversation_and_events(registered: World) -> None:
    result = ingest(unit(text="Hola 👋"), "corr-1")
    assert result.outcome == "stored"
    assert [event.name for event in result.events] == [
        "IdentityCreated",
        "ConversationOpened",
        "MessageReceived",
    ]
    assert all(event.correlation_id == "corr-1" for event in result.events)
    conversation = _only_conversation()
    assert conversation.status == "open"
    assert conversation.unread_count == 1
    assert conversation.last_preview == "Hola 👋"
    assert conversation.contact_id is None
    [identity] = _items(Identity)
    assert identity.external_id == "7000000000000001"
    assert identity.conversation_id == conversation.conversation_id
    inbox = list_conversations("ws_alpha", InboxFilter(), 10, None).items
    assert [c.conversation_id for c in inbox] == [conversation.conversation_id]
    # another workspace's inbox does not see it
    assert list_conversations("ws_beta", InboxFilter(), 10, None).items == []


def test_the_same_event_twice_stores_and_emits_nothing_more(registered: World) -> None:
    first = unit(text="hola")
    ingest(first)
    before = len(list(InboxItem.scan()))
    again = ingest(first)
    assert again.outcome == "duplicate"
    assert again.events == []
    assert len(list(InboxItem.scan())) == before
    assert _only_conversation().unread_count == 1


def test_fifty_concurrent_deliveries_of_a_new_sender_make_one_identity_and_conversation(
    registered: World,
) -> None:
    same = unit(text="¿tienen envíos?")
    distinct = [unit(text=f"mensaje {n}", timestamp_ms=BASE_MS + n) for n in range(1, 26)]
    work = [same] * 25 + distinct
    with ThreadPoolExecutor(max_workers=10) as pool:
        results = list(pool.map(ingest, work))
    assert len(_items(Identity)) == 1
    conversation = _only_conversation()
    assert len(_messages(conversation.conversation_id)) == 26
    stored_same = [r for r, u in zip(results, work, strict=True) if u is same and r.outcome == "stored"]
    assert len(stored_same) == 1
    opened = [e for r in results for e in r.events if e.name == "ConversationOpened"]
    created = [e for r in results for e in r.events if e.name == "IdentityCreated"]
    assert len(opened) == 1
    assert len(created) == 1
    assert conversation.unread_count == 26


def test_messages_are_ordered_by_platform_time_not_arrival(registered: World) -> None:
    for offset, text in ((3000, "tercero"), (1000, "primero"), (2000, "segundo")):
        ingest(unit(text=text, timestamp_ms=BASE_MS + offset))
    conversation = _only_conversation()
    assert [m.text for m in _messages(conversation.conversation_id)] == ["primero", "segundo", "tercero"]
    # the late, older message does not become the preview
    assert conversation.last_preview == "tercero"


@pytest.mark.parametrize(
    "text",
    [
        "👩‍👩‍👧‍👦 familia",  # ZWJ sequence
        "مرحبا بالعالم",  # RTL
        "Ñandú café naïve e\u0301",  # combining mark kept as sent
        "🇲🇽🏳️‍🌈",
    ],
)
def test_unicode_round_trips_exactly(registered: World, text: str) -> None:
    ingest(unit(text=text))
    [message] = _messages(_only_conversation().conversation_id)
    assert message.text == text


def test_only_customer_events_move_the_window_clock(registered: World) -> None:
    ingest(unit(text="hola", timestamp_ms=BASE_MS))
    echo = unit(
        UnitKind.ECHO,
        text="¡Hola! ¿En qué te ayudo?",
        timestamp_ms=BASE_MS + 60_000,
        echo_app_id="263902037430900",
    )
    assert ingest(echo).events == []
    conversation = _only_conversation()
    assert conversation.last_inbound_at.timestamp() * 1000 == BASE_MS
    assert conversation.unread_count == 1
    assert conversation.last_preview == "¡Hola! ¿En qué te ayudo?"
    [_, outbound] = _messages(conversation.conversation_id)
    assert outbound.direction == "outbound"
    assert outbound.origin == "meta_inbox"

    delivery = unit(UnitKind.DELIVERY, watermark_ms=BASE_MS + 60_000, timestamp_ms=BASE_MS + 70_000)
    ingest(delivery)
    assert _only_conversation().last_inbound_at.timestamp() * 1000 == BASE_MS
    assert _only_conversation().delivered_watermark == BASE_MS + 60_000

    first_mid = f"m_7000000000000001_{BASE_MS}"
    reaction = unit(
        UnitKind.REACTION,
        timestamp_ms=BASE_MS + 90_000,
        reaction=UnitReaction(target_message_id=first_mid, action="react", emoji="❤️", reaction="love"),
        dedupe_key="reaction-1",
        platform_message_id=None,
    )
    assert ingest(reaction).outcome == "updated"
    assert _only_conversation().last_inbound_at.timestamp() * 1000 == BASE_MS + 90_000
    first = _messages(_only_conversation().conversation_id)[0]
    assert first.reactions.as_dict()["7000000000000001"]["emoji"] == "❤️"
    unreact = reaction.model_copy(
        update={
            "reaction": UnitReaction(target_message_id=first_mid, action="unreact"),
            "timestamp_ms": BASE_MS + 95_000,
        }
    )
    ingest(unreact)
    assert not _messages(_only_conversation().conversation_id)[0].reactions


def test_our_own_app_echo_is_recorded_as_ours(registered: World) -> None:
    ingest(unit(UnitKind.ECHO, text="enviado por la app", echo_app_id="999999999999999"))
    [message] = _messages(_only_conversation().conversation_id)
    assert message.origin == "app"
    assert message.direction == "outbound"


def test_edit_keeps_history(registered: World) -> None:
    original = unit(text="precio?")
    ingest(original)
    edit = unit(
        UnitKind.EDIT,
        edit=UnitEdit(
            target_message_id=original.platform_message_id or "", text="¿precio del envío?", num_edit=1
        ),
        dedupe_key="edit-1",
        timestamp_ms=BASE_MS + 5000,
    )
    assert ingest(edit).outcome == "updated"
    assert ingest(edit).outcome == "duplicate"
    [message] = _messages(_only_conversation().conversation_id)
    assert message.text == "¿precio del envío?"
    assert message.edits == [{"previous_text": "precio?", "num_edit": 1, "at": BASE_MS + 5000}]


def test_instagram_unsend_redacts_and_stays_redacted_when_the_original_comes_later(registered: World) -> None:
    ig = {"platform": "instagram", "account_id": IG_ACCOUNT, "customer_id": "8000000000000001"}
    kept = unit(text="me quedo", **ig)
    ingest(kept)
    ingest(unit(UnitKind.DELETE, platform_message_id=kept.platform_message_id, dedupe_key="del-1", **ig))
    late = unit(text="esto lo borré", timestamp_ms=BASE_MS + 1, **ig)
    ingest(unit(UnitKind.DELETE, platform_message_id=late.platform_message_id, dedupe_key="del-2", **ig))
    ingest(late)
    messages = _messages(_only_conversation().conversation_id)
    assert [(m.deleted, m.text) for m in messages] == [(True, None), (True, None)]


def _outbound_whatsapp(wamid: str) -> None:
    ingest(unit(platform="whatsapp", account_id=WA_NUMBER, customer_id="5215512340001", text="hola"))
    echo = unit(
        UnitKind.ECHO,
        platform="whatsapp",
        account_id=WA_NUMBER,
        customer_id="5215512340001",
        platform_message_id=wamid,
        text="respuesta",
        timestamp_ms=BASE_MS + 10,
    )
    ingest(echo)


def _status(wamid: str, status: str, at: int, **extra: object) -> object:
    return unit(
        UnitKind.STATUS,
        platform="whatsapp",
        account_id=WA_NUMBER,
        customer_id="5215512340001",
        platform_message_id=wamid,
        status=UnitStatus(status=status, **extra),  # type: ignore[arg-type]
        dedupe_key=f"st:{wamid}:{status}",
        timestamp_ms=at,
    )


def test_whatsapp_statuses_never_regress_and_failed_is_terminal(registered: World) -> None:
    _outbound_whatsapp("wamid.OUT1")
    for status, at in (("read", 30), ("delivered", 20), ("sent", 10)):
        ingest(_status("wamid.OUT1", status, BASE_MS + at))  # type: ignore[arg-type]
    outbound = _messages(_only_conversation().conversation_id)[-1]
    assert outbound.status == "read"

    _outbound_whatsapp("wamid.OUT2")
    failed = _status(
        "wamid.OUT2",
        "failed",
        BASE_MS + 40,
        error_code=131047,
        error_title="Re-engagement message",
        error_message="More than 24 hours have passed since the recipient last replied",
    )
    result = ingest(failed)  # type: ignore[arg-type]
    assert [event.name for event in result.events] == ["MessageStatusChanged"]
    ingest(_status("wamid.OUT2", "delivered", BASE_MS + 50))  # type: ignore[arg-type]
    outbound = next(
        m for m in _messages(_only_conversation().conversation_id) if m.platform_message_id == "wamid.OUT2"
    )
    assert outbound.status == "failed"
    assert outbound.error_code == "131047"
    assert "24 hours" in (outbound.error_reason or "")


def test_status_before_the_send_recorded_its_id_is_kept(registered: World) -> None:
    assert ingest(_status("wamid.EARLY", "delivered", BASE_MS)).outcome == "recorded"  # type: ignore[arg-type]


def test_number_change_moves_the_identity_and_keeps_the_history(registered: World) -> None:
    wa = {"platform": "whatsapp", "account_id": WA_NUMBER}
    ingest(unit(customer_id="5215512340001", text="antes", **wa))
    change = unit(
        UnitKind.NUMBER_CHANGE,
        customer_id="5215512340001",
        new_customer_id="5215599990002",
        dedupe_key="chg",
        timestamp_ms=BASE_MS + 1,
        **wa,
    )
    assert ingest(change).outcome == "updated"
    assert ingest(change).outcome == "duplicate"
    ingest(unit(customer_id="5215599990002", text="después", timestamp_ms=BASE_MS + 2, **wa))
    conversation = _only_conversation()
    assert [m.text for m in _messages(conversation.conversation_id)] == ["antes", "después"]
    assert conversation.handle == "+5215599990002"


def test_comments_are_their_own_conversation_per_post_and_the_pages_own_are_quiet(registered: World) -> None:
    ingest(unit(text="dm"))
    comment = UnitComment(
        comment_id="post1_c1", post_id=f"{PAGE}_post1", parent_id=f"{PAGE}_post1", verb="add"
    )
    result = ingest(unit(UnitKind.COMMENT, text="¿precio?", platform_message_id="post1_c1", comment=comment))
    assert [e.name for e in result.events] == ["CommentReceived"]
    page_reply = UnitComment(
        comment_id="post1_c2",
        post_id=f"{PAGE}_post1",
        parent_id="post1_c1",
        verb="add",
        is_reply=True,
        from_page=True,
    )
    own = ingest(
        unit(
            UnitKind.COMMENT,
            text="Te escribimos por DM",
            platform_message_id="post1_c2",
            comment=page_reply,
            timestamp_ms=BASE_MS + 5,
        )
    )
    assert own.events == []
    conversations = {c.kind: c for c in _items(Conversation)}  # type: ignore[union-attr]
    assert set(conversations) == {"direct", "comment"}
    removed = UnitComment(comment_id="post1_c1", post_id=f"{PAGE}_post1", verb="remove")
    ingest(
        unit(
            UnitKind.COMMENT,
            platform_message_id="post1_c1",
            comment=removed,
            dedupe_key="rm",
            timestamp_ms=BASE_MS + 9,
        )
    )
    comment_messages = _messages(conversations["comment"].conversation_id)
    assert [(m.deleted, m.direction) for m in comment_messages] == [(True, "inbound"), (False, "outbound")]


def test_unknown_account_is_recorded_not_lost(registered: World) -> None:
    result = ingest(unit(account_id="999"))
    assert result.outcome == "unrouted"
    assert ingest(unit(account_id="999")).outcome == "duplicate"
    [record] = [item for item in _items(UnroutedDelivery) if item.pk == "UNROUTED"]
    assert record.account_id == "999"
    assert record.reason == "unknown_account"
    assert _items(Conversation) == []


def test_standby_is_stored_without_automation(registered: World) -> None:
    result = ingest(unit(text="para otra app", standby=True))
    assert result.outcome == "stored"
    assert [e.name for e in result.events] == ["IdentityCreated"]
    [message] = _messages(_only_conversation().conversation_id)
    assert message.standby is True


# ------------------------------------------------------------------ oversized units (issue 10)


def test_an_oversized_text_is_stored_cut_and_marked_not_dead_lettered(registered: World) -> None:
    # A unit that did not come through the webhook's cut (an old queued message, a replay).
    text = "¿Envían a Mérida? " + "🌮" * 300_000
    result = ingest(unit(text=text))
    assert result.outcome == "stored"
    [message] = _messages(_only_conversation().conversation_id)
    assert message.truncated is True
    assert message.text
    assert text.startswith(message.text)
    assert len(message.text) < len(text)
    # the redelivery is a duplicate, as for any other message
    assert ingest(unit(text=text)).outcome == "duplicate"


def test_payloads_too_deep_or_too_many_are_cut_and_the_message_kept(registered: World) -> None:
    deep: dict = {"leaf": "x"}
    for _ in range(60):
        deep = {"nested": deep}
    many = [{"type": "file", "url": f"https://example.com/{n}"} for n in range(20_000)]
    result = ingest(unit(text="hola", postback={"title": "Sí", "payload": deep}, attachments=many))
    assert result.outcome == "stored"
    [message] = _messages(_only_conversation().conversation_id)
    assert message.truncated is True
    assert message.text == "hola"


def test_a_unit_with_an_absurd_id_is_recorded_for_operators(registered: World) -> None:
    result = ingest(unit(customer_id="7" * 600_000, text="hola"))
    assert result.outcome in ("unrouted", "recorded")
    assert {item.reason for item in _items(UnroutedDelivery)} == {"oversized_id"}
    assert _items(Conversation) == []
