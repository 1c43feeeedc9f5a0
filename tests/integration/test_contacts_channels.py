"""The conversation's contact through the HTTP API, per channel (seeds 000 / 001): create or
associate, the 409 cases, unlinking, blocking, and the WhatsApp auto-link at ingestion."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from inbox_crm.contacts import autolink, lookup, tagging
from inbox_crm.contacts.actors import Actor
from inbox_crm.contacts.linking import link_conversation, refresh_identity
from inbox_crm.core.errors import Conflict
from inbox_crm.ingest.ids import direct_conversation_id, identity_id_for
from inbox_crm.ingest.pipeline import ingest
from inbox_crm.meta.units import UnitComment, UnitKind
from inbox_crm.store.models import Conversation, Identity
from inbox_crm.workspaces import channels
from support.api import ApiClient, Reply
from support.pipeline import Pipeline
from support.units import BASE_MS, IG_ACCOUNT, PAGE, WA_NUMBER, unit
from support.world import World

PSID = "7000000000000001"
IGSID = "8000000000000001"
WA_ID = "5215512345678"  # how WhatsApp reports a Mexican mobile: +52 1 55 1234 5678
NEW_CONTACT = {"first_name": "María", "last_name": "López", "consent": {"given": True}}


@pytest.fixture
def registered(world: World) -> World:
    channels.register_channel("ws_alpha", "messenger", PAGE, "Alpha FB", "usr_alpha_owner")
    channels.register_channel("ws_alpha", "instagram", IG_ACCOUNT, "Alpha IG", "usr_alpha_owner")
    channels.register_channel("ws_alpha", "whatsapp", WA_NUMBER, "Alpha WA", "usr_alpha_owner")
    return world


def _messenger(psid: str = PSID, at: int = BASE_MS) -> str:
    ingest(unit(customer_id=psid, text="hola", timestamp_ms=at))
    return direct_conversation_id(identity_id_for("messenger", PAGE, psid))


def _instagram(igsid: str = IGSID, username: str = "Tienda.Fan") -> str:
    ingest(unit(platform="instagram", account_id=IG_ACCOUNT, customer_id=igsid, text="hola"))
    identity_id = identity_id_for("instagram", IG_ACCOUNT, igsid)
    # what profile enrichment does once Meta answers
    Identity(*Identity.key("ws_alpha", identity_id)).update(actions=[Identity.username.set(username)])
    return direct_conversation_id(identity_id)


def _whatsapp(wa_id: str = WA_ID, at: int = BASE_MS, text: str = "hola") -> str:
    ingest(
        unit(
            platform="whatsapp",
            account_id=WA_NUMBER,
            customer_id=wa_id,
            customer_name="Mari",
            text=text,
            timestamp_ms=at,
        )
    )
    return direct_conversation_id(identity_id_for("whatsapp", WA_NUMBER, wa_id))


def _comment(post: str, comment_id: str, psid: str = PSID, at: int = BASE_MS + 10) -> str:
    comment = UnitComment(
        comment_id=comment_id, post_id=f"{PAGE}_{post}", parent_id=f"{PAGE}_{post}", verb="add"
    )
    ingest(
        unit(
            UnitKind.COMMENT,
            customer_id=psid,
            text="¿precio?",
            platform_message_id=comment_id,
            comment=comment,
            timestamp_ms=at,
        )
    )
    return next(
        conversation.conversation_id
        for conversation in Conversation.scan()
        if isinstance(conversation, Conversation) and conversation.post_id == f"{PAGE}_{post}"
    )


def _link(api: ApiClient, conversation_id: str, body: dict[str, Any], as_: str = "alpha_agent") -> Reply:
    return api.post(f"/v1/conversations/{conversation_id}/contact", body, as_=as_)


def _register(api: ApiClient, conversation_id: str, **fields: Any) -> dict[str, Any]:
    reply = _link(api, conversation_id, {"contact": {**NEW_CONTACT, **fields}})
    assert reply.status == 201, reply.text
    return reply.json()


def _conversation(api: ApiClient, conversation_id: str) -> dict[str, Any]:
    return api.get(f"/v1/conversations/{conversation_id}", as_="alpha_agent").json()


def _inbox(api: ApiClient, status: str = "open") -> list[str]:
    items = api.get("/v1/conversations", query={"status": status}, as_="alpha_agent").json()["items"]
    return [item["id"] for item in items]


def _new_contact(api: ApiClient, **fields: Any) -> dict[str, Any]:
    reply = api.post("/v1/contacts", {"first_name": "Ana", **fields}, as_="alpha_agent")
    assert reply.status == 201, reply.text
    return reply.json()


# ------------------------------------------------------------------ per channel


def test_messenger_sender_registered_from_the_conversation(
    registered: World, api: ApiClient, pipeline: Pipeline
) -> None:
    earlier_comment = _comment("post1", "post1_c1")
    conversation_id = _messenger()
    linked = _register(api, conversation_id)
    contact = linked["contact"]
    assert linked["created"] is True
    assert contact["facebook_ids"] == [PSID]
    assert contact["channels"] == ["messenger"]
    assert contact["source"] == "messenger"
    assert contact["primary_phone"] is None  # the identity identifies it: no phone or email needed
    assert contact["emails"] == []
    assert contact["consent"]["given"] is True
    assert contact["identities"] == [
        {
            "id": identity_id_for("messenger", PAGE, PSID),
            "channel": "messenger",
            "account_id": PAGE,
            "external_id": PSID,
            "username": None,
            "phone": None,
        }
    ]
    assert linked["conversation"]["registered"] is True
    # every conversation of the sender belongs to the contact: earlier ones and later ones
    later_comment = _comment("post2", "post2_c1", at=BASE_MS + 20)
    for conversation in (conversation_id, earlier_comment, later_comment):
        assert _conversation(api, conversation)["contact_id"] == contact["id"]
    assert lookup.contacts_by_facebook_id("ws_alpha", PSID) == [contact["id"]]
    events = {event.name: event.detail for event in pipeline.events()}
    assert events["ContactCreated"]["contact_id"] == contact["id"]
    assert events["ContactAssociated"]["identity_id"] == identity_id_for("messenger", PAGE, PSID)
    assert sorted(events["ContactAssociated"]["conversation_ids"]) == sorted(
        [conversation_id, earlier_comment]
    )


def test_instagram_sender_registered_with_username_and_igsid(registered: World, api: ApiClient) -> None:
    contact = _register(api, _instagram())["contact"]
    assert contact["instagram_usernames"] == ["Tienda.Fan"]
    assert contact["identities"][0]["external_id"] == IGSID
    assert contact["facebook_ids"] == []
    assert lookup.contacts_by_instagram_username("ws_alpha", "@tienda.fan") == [contact["id"]]
    assert lookup.contacts_by_instagram_username("ws_alpha", "otra") == []


def test_a_username_learnt_after_the_link_reaches_the_contact(registered: World, api: ApiClient) -> None:
    ingest(unit(platform="instagram", account_id=IG_ACCOUNT, customer_id=IGSID, text="hola"))
    identity_id = identity_id_for("instagram", IG_ACCOUNT, IGSID)
    contact = _register(api, direct_conversation_id(identity_id))["contact"]
    assert contact["instagram_usernames"] == []
    Identity(*Identity.key("ws_alpha", identity_id)).update(
        actions=[Identity.username.set("tienda.fan"), Identity.profile_pic_url.set("https://x/pic.jpg")]
    )
    refreshed = refresh_identity("ws_alpha", identity_id)
    assert refreshed is not None
    assert refreshed.profile_pic_url == "https://x/pic.jpg"
    assert api.get(f"/v1/contacts/{contact['id']}").json()["instagram_usernames"] == ["tienda.fan"]
    assert lookup.contacts_by_instagram_username("ws_alpha", "tienda.fan") == [contact["id"]]
    assert refresh_identity("ws_alpha", identity_id_for("instagram", IG_ACCOUNT, "1")) is None


def test_whatsapp_number_becomes_the_whatsapp_and_primary_phone(registered: World, api: ApiClient) -> None:
    contact = _register(api, _whatsapp())["contact"]
    assert contact["whatsapp_phone"] == "+525512345678"
    assert contact["primary_phone"] == "+525512345678"
    assert contact["country"] == "MX"
    assert contact["identities"][0]["phone"] == "+5215512345678"
    found = api.get("/v1/contacts", query={"q": "55 1234 5678"}, as_="alpha_agent").json()["items"]
    assert [item["id"] for item in found] == [contact["id"]]


def test_whatsapp_number_does_not_replace_a_primary_phone_given(registered: World, api: ApiClient) -> None:
    contact = _register(api, _whatsapp(), primary_phone="33 1234 5678", emails=["maria@correo.mx"])["contact"]
    assert contact["primary_phone"] == "+523312345678"
    assert contact["whatsapp_phone"] == "+525512345678"
    assert lookup.contacts_by_phone("ws_alpha", "+525512345678") == [contact["id"]]


@pytest.mark.parametrize(
    ("contact", "loc"),
    [
        ({"last_name": "López", "consent": {"given": True}}, ["contact", "first_name"]),
        ({"first_name": "María", "consent": {"given": True}}, ["contact", "last_name"]),
        ({"first_name": "María", "last_name": "López"}, ["contact", "consent"]),
        ({**NEW_CONTACT, "consent": {"given": False}}, ["contact", "consent"]),
        ({**NEW_CONTACT, "primary_phone": "123"}, ["contact", "primary_phone"]),
    ],
)
def test_registering_needs_names_and_consent(
    registered: World, api: ApiClient, contact: dict[str, Any], loc: list[str]
) -> None:
    conversation_id = _messenger()
    reply = _link(api, conversation_id, {"contact": contact})
    assert reply.status == 422, reply.text
    assert [detail["loc"] for detail in reply.json()["error"]["details"]] == [loc]
    assert _conversation(api, conversation_id)["contact_id"] is None


def test_body_needs_exactly_one_of_contact_id_and_contact(registered: World, api: ApiClient) -> None:
    conversation_id = _messenger()
    assert _link(api, conversation_id, {}).status == 422
    assert _link(api, conversation_id, {"contact_id": "ctc_x", "contact": NEW_CONTACT}).status == 422
    assert _link(api, "cnv_missing", {"contact": NEW_CONTACT}).status == 404


# ------------------------------------------------------------------ associate and its conflicts


def test_associating_an_existing_contact_gathers_its_channels(registered: World, api: ApiClient) -> None:
    contact = _new_contact(api, emails=["ana@correo.mx"])
    first = _link(api, _messenger(), {"contact_id": contact["id"]})
    assert first.status == 200
    assert first.json()["created"] is False
    both = _link(api, _whatsapp(), {"contact_id": contact["id"]}).json()["contact"]
    assert both["channels"] == ["messenger", "whatsapp"]
    assert both["facebook_ids"] == [PSID]
    assert both["whatsapp_phone"] == "+525512345678"
    assert both["primary_phone"] == "+525512345678"
    assert both["display_name"] == "Mari"  # from the channel, where the contact had none
    # associating again is harmless
    again = _link(api, _messenger(), {"contact_id": contact["id"]})
    assert again.status == 200
    assert again.json()["contact"]["version"] == both["version"]
    assert [
        item["id"] for item in api.get("/v1/contacts", query={"has_channel": "whatsapp"}).json()["items"]
    ] == [contact["id"]]


def test_a_sender_linked_to_another_contact_is_409_naming_it(registered: World, api: ApiClient) -> None:
    conversation_id = _messenger()
    holder = _register(api, conversation_id)["contact"]
    other = _new_contact(api, emails=["otra@correo.mx"])
    for body in ({"contact_id": other["id"]}, {"contact": NEW_CONTACT}):
        reply = _link(api, conversation_id, body)
        assert reply.status == 409
        assert reply.json()["error"]["details"] == {"contact_id": holder["id"]}
    # a comment conversation of the same sender is the same identity
    reply = _link(api, _comment("post1", "post1_c1"), {"contact_id": other["id"]})
    assert reply.json()["error"]["details"] == {"contact_id": holder["id"]}
    assert api.get(f"/v1/contacts/{other['id']}").json()["channels"] == []


def test_concurrent_associations_of_one_sender_link_it_once(registered: World, api: ApiClient) -> None:
    """Run through the domain function the route calls (the Lambda handler serves one request at a
    time), while the same contacts are being tagged, so both conditions race."""
    conversation_id = _messenger()
    targets = [_new_contact(api, emails=[f"c{n}@correo.mx"])["id"] for n in range(4)]
    tag = api.post("/v1/tags", {"name": "Carrera"}, as_="alpha_owner").json()["id"]
    outcome: dict[str, Any] = {}
    barrier = threading.Barrier(len(targets) * 2)

    def associate(contact_id: str) -> None:
        barrier.wait()
        try:
            link_conversation("ws_alpha", conversation_id, Actor("usr"), contact_id=contact_id)
            outcome[contact_id] = "linked"
        except Conflict as conflict:
            outcome[contact_id] = conflict.details["contact_id"]

    def add_tag(contact_id: str) -> None:
        barrier.wait()
        tagging.add_tag("ws_alpha", contact_id, tag, Actor("usr"))

    threads = [
        threading.Thread(target=work, args=(target,)) for target in targets for work in (associate, add_tag)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [winner] = [contact_id for contact_id, result in outcome.items() if result == "linked"]
    assert {contact_id: result for contact_id, result in outcome.items() if contact_id != winner} == {
        contact_id: winner for contact_id in targets if contact_id != winner
    }
    for contact_id in targets:
        contact = api.get(f"/v1/contacts/{contact_id}").json()
        assert contact["tags"] == [tag]
        assert contact["channels"] == (["messenger"] if contact_id == winner else [])
    assert _conversation(api, conversation_id)["contact_id"] == winner


def test_associating_an_unknown_or_foreign_contact_is_404(registered: World, api: ApiClient) -> None:
    conversation_id = _messenger()
    foreign = api.post("/v1/contacts", {"first_name": "B", "emails": ["b@c.mx"]}, as_="beta_agent").json()
    assert _link(api, conversation_id, {"contact_id": foreign["id"]}).status == 404
    assert _link(api, conversation_id, {"contact_id": "ctc_nope"}).status == 404
    assert (
        api.post(
            f"/v1/conversations/{conversation_id}/contact", {"contact": NEW_CONTACT}, as_="beta_agent"
        ).status
        == 404
    )
    assert api.delete(f"/v1/conversations/{conversation_id}/contact", as_="beta_owner").status == 404
    assert _conversation(api, conversation_id)["contact_id"] is None


def test_unlinking_is_for_managers_and_keeps_the_history(registered: World, api: ApiClient) -> None:
    conversation_id = _whatsapp()
    contact = _register(api, conversation_id, emails=["maria@correo.mx"])["contact"]
    path = f"/v1/conversations/{conversation_id}/contact"
    assert api.delete(path, as_="alpha_agent").status == 403
    reply = api.delete(path, as_="alpha_manager")
    assert reply.status == 200
    assert reply.json()["contact_id"] is None
    left = api.get(f"/v1/contacts/{contact['id']}").json()
    assert (left["channels"], left["whatsapp_phone"], left["primary_phone"]) == ([], None, "+525512345678")
    messages = api.get(f"/v1/conversations/{conversation_id}/messages", as_="alpha_agent").json()["items"]
    assert [message["text"] for message in messages] == ["hola"]
    assert api.delete(path, as_="alpha_manager").status == 409  # nothing linked any more
    # the sender can now be registered anew
    assert _link(api, conversation_id, {"contact": NEW_CONTACT}).status == 201


def test_a_channel_only_contact_keeps_its_channel_until_it_has_a_phone_or_email(
    registered: World, api: ApiClient
) -> None:
    conversation_id = _messenger()
    contact = _register(api, conversation_id)["contact"]
    assert api.delete(f"/v1/conversations/{conversation_id}/contact", as_="alpha_owner").status == 409
    api.call("PATCH", f"/v1/contacts/{contact['id']}", body={"emails": ["maria@correo.mx"]})
    assert api.delete(f"/v1/conversations/{conversation_id}/contact", as_="alpha_owner").status == 200


def test_deleting_a_contact_unlinks_its_senders(registered: World, api: ApiClient) -> None:
    conversation_id = _messenger()
    contact = _register(api, conversation_id)["contact"]
    assert api.delete(f"/v1/contacts/{contact['id']}", as_="alpha_manager").status == 204
    assert _conversation(api, conversation_id)["contact_id"] is None
    assert lookup.contacts_by_facebook_id("ws_alpha", PSID) == []
    assert _link(api, conversation_id, {"contact": NEW_CONTACT}).status == 201


# ------------------------------------------------------------------ block


def test_blocking_closes_and_hides_and_later_messages_are_stored_silently(
    registered: World, api: ApiClient
) -> None:
    conversation_id = _messenger()
    comment_id = _comment("post1", "post1_c1")
    other = _whatsapp()
    contact = _register(api, conversation_id)["contact"]
    blocked = api.post(f"/v1/contacts/{contact['id']}/block", as_="alpha_agent")
    assert blocked.status == 200
    assert blocked.json()["blocked"] is True
    assert _inbox(api) == [other]
    assert _inbox(api, "closed") == []
    assert _conversation(api, conversation_id)["status"] == "closed"
    assert [item["id"] for item in api.get("/v1/contacts", query={"blocked": "true"}).json()["items"]] == [
        contact["id"]
    ]
    assert api.get("/v1/contacts", query={"blocked": "false"}).json()["items"] == []

    later = ingest(unit(customer_id=PSID, text="¿hola?", timestamp_ms=BASE_MS + 100))
    assert later.outcome == "stored"
    assert later.events == []  # no notification, no automation
    messages = api.get(f"/v1/conversations/{conversation_id}/messages", as_="alpha_agent").json()["items"]
    assert [message["text"] for message in messages] == ["hola", "¿hola?"]  # nothing lost
    new_post = _comment("post9", "post9_c1", at=BASE_MS + 200)
    assert _inbox(api) == [other]
    assert _conversation(api, new_post)["contact_id"] == contact["id"]

    assert api.post(f"/v1/contacts/{contact['id']}/unblock", as_="alpha_agent").status == 403
    assert (
        api.post(f"/v1/contacts/{contact['id']}/block", as_="alpha_agent").json()["version"]
        == blocked.json()["version"]
    )
    unblocked = api.post(f"/v1/contacts/{contact['id']}/unblock", as_="alpha_manager")
    assert unblocked.status == 200
    assert unblocked.json()["blocked"] is False
    visible = set(_inbox(api)) | set(_inbox(api, "closed"))
    assert {conversation_id, comment_id, new_post} <= visible
    assert ingest(unit(customer_id=PSID, text="gracias", timestamp_ms=BASE_MS + 300)).events  # heard again


def test_a_blocked_contact_cannot_be_deleted_or_lose_channels(registered: World, api: ApiClient) -> None:
    conversation_id = _messenger()
    contact = _register(api, conversation_id, emails=["m@c.mx"])["contact"]
    api.post(f"/v1/contacts/{contact['id']}/block", as_="alpha_agent")
    assert api.delete(f"/v1/contacts/{contact['id']}", as_="alpha_owner").status == 409
    assert api.delete(f"/v1/conversations/{conversation_id}/contact", as_="alpha_owner").status == 409


def test_linking_a_sender_to_a_blocked_contact_hides_it_too(registered: World, api: ApiClient) -> None:
    contact = _new_contact(api, emails=["spam@correo.mx"])
    api.post(f"/v1/contacts/{contact['id']}/block", as_="alpha_agent")
    conversation_id = _instagram()
    assert _link(api, conversation_id, {"contact_id": contact["id"]}).status == 200
    assert conversation_id not in _inbox(api)
    assert (
        ingest(
            unit(
                platform="instagram",
                account_id=IG_ACCOUNT,
                customer_id=IGSID,
                text="x",
                timestamp_ms=BASE_MS + 5,
            )
        ).events
        == []
    )


# ------------------------------------------------------------------ filters


def test_channel_filters(registered: World, api: ApiClient) -> None:
    plain = _new_contact(api, emails=["plain@correo.mx"])["id"]
    on_messenger = _register(api, _messenger())["contact"]["id"]
    on_instagram = _register(api, _instagram())["contact"]["id"]

    def listed(kind: str) -> set[str]:
        items = api.get("/v1/contacts", query={"has_channel": kind}, as_="alpha_agent").json()["items"]
        return {item["id"] for item in items}

    assert listed("none") == {plain}
    assert listed("any") == {on_messenger, on_instagram}
    assert listed("messenger") == {on_messenger}
    assert listed("instagram") == {on_instagram}
    assert listed("whatsapp") == set()
    found = api.get("/v1/contacts", query={"q": "maria", "has_channel": "instagram"}).json()["items"]
    assert [item["id"] for item in found] == [on_instagram]
    assert api.get("/v1/contacts", query={"has_channel": "sms"}).status == 422


# ------------------------------------------------------------------ WhatsApp auto-link


def test_a_whatsapp_message_from_a_contacts_primary_phone_links_it(registered: World, api: ApiClient) -> None:
    contact = _new_contact(api, primary_phone="55 1234 5678")
    result = ingest(unit(platform="whatsapp", account_id=WA_NUMBER, customer_id=WA_ID, text="hola"))
    names = [event.name for event in result.events]
    assert names[:2] == ["IdentityCreated", "ContactAssociated"]
    received = next(event for event in result.events if event.name == "MessageReceived")
    assert received.data["contact_id"] == contact["id"]
    linked = api.get(f"/v1/contacts/{contact['id']}").json()
    assert linked["whatsapp_phone"] == "+525512345678"
    assert linked["channels"] == ["whatsapp"]
    conversation_id = direct_conversation_id(identity_id_for("whatsapp", WA_NUMBER, WA_ID))
    assert _conversation(api, conversation_id)["contact_id"] == contact["id"]


def test_auto_link_uses_the_whatsapp_phone_too_and_never_guesses(registered: World, api: ApiClient) -> None:
    # the number is this contact's WhatsApp phone: linked
    by_whatsapp = _new_contact(api, emails=["a@c.mx"], whatsapp_phone="+52 55 1111 2222")["id"]
    _whatsapp("5215511112222")
    assert api.get(f"/v1/contacts/{by_whatsapp}").json()["channels"] == ["whatsapp"]
    # two contacts share the primary phone: none is linked
    twins = [_new_contact(api, primary_phone="55 3333 4444")["id"] for _ in range(2)]
    twin_conversation = _whatsapp("5215533334444")
    assert _conversation(api, twin_conversation)["contact_id"] is None
    assert all(api.get(f"/v1/contacts/{twin}").json()["channels"] == [] for twin in twins)
    # the primary phone matches but the contact has another WhatsApp phone: not linked
    other = _new_contact(api, primary_phone="55 5555 6666", whatsapp_phone="55 7777 8888")["id"]
    assert _conversation(api, _whatsapp("5215555556666"))["contact_id"] is None
    assert api.get(f"/v1/contacts/{other}").json()["whatsapp_phone"] == "+525577778888"


def test_auto_link_to_a_blocked_contact_stores_silently(registered: World, api: ApiClient) -> None:
    contact = _new_contact(api, primary_phone="55 1234 5678")
    api.post(f"/v1/contacts/{contact['id']}/block", as_="alpha_agent")
    result = ingest(unit(platform="whatsapp", account_id=WA_NUMBER, customer_id=WA_ID, text="hola"))
    assert [event.name for event in result.events] == ["IdentityCreated", "ContactAssociated"]
    conversation_id = direct_conversation_id(identity_id_for("whatsapp", WA_NUMBER, WA_ID))
    assert conversation_id not in _inbox(api)
    assert _conversation(api, conversation_id)["status"] == "closed"


class _Crash(BaseException):
    """The function dies (a timeout, a kill): nothing in it catches this."""


def test_an_auto_link_that_meets_a_dynamodb_error_is_finished_by_the_redelivery(
    registered: World, api: ApiClient, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transient DynamoDB error in the link is not swallowed: the unit fails, SQS redelivers it,
    and the duplicate finishes the link it committed as an intent with the message."""
    from pynamodb.exceptions import TransactWriteError

    contact = _new_contact(api, primary_phone="55 1234 5678")
    first = unit(platform="whatsapp", account_id=WA_NUMBER, customer_id=WA_ID, text="hola")

    def throttled(*args: Any, **kwargs: Any) -> None:
        raise TransactWriteError("throttled")

    with monkeypatch.context() as patched:
        patched.setattr(autolink, "link_identity", throttled)
        with pytest.raises(TransactWriteError):
            ingest(first)
    conversation_id = direct_conversation_id(identity_id_for("whatsapp", WA_NUMBER, WA_ID))
    assert _conversation(api, conversation_id)["contact_id"] is None
    assert ingest(first).outcome == "duplicate"
    assert _conversation(api, conversation_id)["contact_id"] == contact["id"]
    assert len(pipeline.events("ContactAssociated")) == 1


def test_an_auto_link_cut_short_by_a_crash_is_finished_by_the_redelivery(
    registered: World, api: ApiClient, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 10: the message commits first and the link after it; a crash between the two must not
    leave the sender unlinked when SQS redelivers the unit (a duplicate by then)."""
    contact = _new_contact(api, primary_phone="55 1234 5678")
    first = unit(platform="whatsapp", account_id=WA_NUMBER, customer_id=WA_ID, text="hola")

    def crash(*args: Any, **kwargs: Any) -> None:
        raise _Crash

    with monkeypatch.context() as patched:
        patched.setattr(autolink, "auto_link_whatsapp", crash)
        with pytest.raises(_Crash):
            ingest(first)
    conversation_id = direct_conversation_id(identity_id_for("whatsapp", WA_NUMBER, WA_ID))
    assert _conversation(api, conversation_id)["contact_id"] is None  # the message is in, unlinked

    assert ingest(first).outcome == "duplicate"  # SQS redelivers the unit
    assert _conversation(api, conversation_id)["contact_id"] == contact["id"]
    assert api.get(f"/v1/contacts/{contact['id']}").json()["channels"] == ["whatsapp"]
    [associated] = pipeline.events("ContactAssociated")
    assert associated.detail["automatic"] is True
    assert len(pipeline.events("MessageReceived")) == 1

    assert ingest(first).outcome == "duplicate"  # nothing more to finish: nothing more is announced
    assert len(pipeline.events("ContactAssociated")) == 1


def test_a_contacts_conversations_span_its_channels_and_follow_an_unlink(
    registered: World, api: ApiClient
) -> None:
    direct = _messenger()
    comment = _comment("post1", "c_1")
    contact = _register(api, direct)["contact"]
    whatsapp = _whatsapp(at=BASE_MS + 50)
    assert _link(api, whatsapp, {"contact_id": contact["id"]}).status == 200
    _messenger(psid="7000000000000099")  # someone else's

    listed = api.get(f"/v1/contacts/{contact['id']}/conversations", as_="alpha_agent")
    assert listed.status == 200, listed.text
    assert [item["id"] for item in listed.json()["items"]] == [whatsapp, comment, direct]

    assert api.delete(f"/v1/conversations/{whatsapp}/contact", as_="alpha_manager").status == 200
    after = api.get(f"/v1/contacts/{contact['id']}/conversations", as_="alpha_agent").json()["items"]
    assert [item["id"] for item in after] == [comment, direct]
    assert api.get("/v1/contacts/ctc_missing/conversations", as_="alpha_agent").status == 404
