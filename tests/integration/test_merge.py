"""Issue 7: merge suggestions (shared values, conversation hints), merge, undo, history, rules."""

from __future__ import annotations

import itertools
import threading
from typing import Any
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from merge_hints_handler import handle

from inbox_crm.contacts import editing, lookup, tagging
from inbox_crm.contacts.actors import Actor
from inbox_crm.contacts.index import index_items
from inbox_crm.core.aws import client
from inbox_crm.core.errors import Conflict, DomainError
from inbox_crm.core.settings import get_settings
from inbox_crm.events.contracts import MessageReceived, check
from inbox_crm.identity import merge, merge_undo, suggestions
from inbox_crm.ingest.ids import direct_conversation_id, identity_id_for
from inbox_crm.ingest.pipeline import ingest
from inbox_crm.store.models import Contact, Conversation, Identity, IdentityConversation, Merge
from inbox_crm.workspaces import channels
from support.api import ApiClient
from support.units import BASE_MS, IG_ACCOUNT, PAGE, WA_NUMBER, unit
from support.world import World

ACTOR = Actor("usr_alpha_agent")
_psids = itertools.count(7_100_000_000_000_001)


@pytest.fixture
def registered(world: World) -> World:
    channels.register_channel("ws_alpha", "messenger", PAGE, "Alpha FB", "usr_alpha_owner")
    channels.register_channel("ws_alpha", "instagram", IG_ACCOUNT, "Alpha IG", "usr_alpha_owner")
    channels.register_channel("ws_alpha", "whatsapp", WA_NUMBER, "Alpha WA", "usr_alpha_owner")
    return world


def _contact(api: ApiClient, **fields: Any) -> dict[str, Any]:
    body = {"first_name": "Ana", **fields}
    reply = api.post("/v1/contacts", body, as_="alpha_agent")
    assert reply.status == 201, reply.text
    return reply.json()


def _suggestions(api: ApiClient, contact_id: str) -> list[dict[str, Any]]:
    reply = api.get(f"/v1/contacts/{contact_id}/merge-suggestions", as_="alpha_agent")
    assert reply.status == 200, reply.text
    return reply.json()["items"]


def _messenger(
    text: str = "hola", psid: str | None = None, platform: str = "messenger"
) -> tuple[str, str, MessageReceived]:
    """A Messenger (or Instagram) message: (identity id, conversation id, MessageReceived detail)."""
    psid = psid or str(next(_psids))
    account = PAGE if platform == "messenger" else IG_ACCOUNT
    result = ingest(
        unit(
            platform=platform,
            account_id=account,
            customer_id=psid,
            text=text,
            timestamp_ms=BASE_MS,
            platform_message_id=f"m_{psid}",
        )
    )
    identity_id = identity_id_for(platform, account, psid)
    event = next(event for event in result.events if event.name == "MessageReceived")
    return identity_id, direct_conversation_id(identity_id), MessageReceived.model_validate(event.detail())


# ------------------------------------------------------------------ suggestions


def test_a_suggestion_follows_the_shared_values(api: ApiClient) -> None:
    first = _contact(api, primary_phone="+52 55 1234 5678", emails=["a@uno.mx"])
    second = _contact(api, first_name="Anita", emails=["b@dos.mx"], secondary_phones=["(55) 1234-5678"])
    [suggestion] = _suggestions(api, first["id"])
    assert suggestion["kind"] == "shared_value"
    assert sorted(suggestion["contact_ids"]) == sorted([first["id"], second["id"]])
    assert suggestion["shared"] == [{"kind": "phone", "value": "+525512345678", "message_id": None}]
    assert _suggestions(api, second["id"]) == [suggestion]
    listed = api.get("/v1/merge-suggestions", as_="alpha_agent").json()["items"]
    assert [item["id"] for item in listed] == [suggestion["id"]]

    # change one: gone
    patched = api.call(
        "PATCH",
        f"/v1/contacts/{second['id']}",
        body={"secondary_phones": ["+52 33 1111 2222"]},
        as_="alpha_agent",
    )
    assert patched.status == 200, patched.text
    assert _suggestions(api, first["id"]) == []
    assert _suggestions(api, second["id"]) == []
    # an email shared: back, with the email marked
    api.call("PATCH", f"/v1/contacts/{second['id']}", body={"emails": ["A@Uno.mx"]}, as_="alpha_agent")
    [again] = _suggestions(api, first["id"])
    assert again["id"] == suggestion["id"]
    assert again["shared"] == [{"kind": "email", "value": "a@uno.mx", "message_id": None}]
    # blocked contacts are never suggested; unblocking brings it back
    assert api.post(f"/v1/contacts/{second['id']}/block", as_="alpha_agent").status == 200
    assert _suggestions(api, first["id"]) == []
    assert api.post(f"/v1/contacts/{second['id']}/unblock", as_="alpha_manager").status == 200
    assert len(_suggestions(api, first["id"])) == 1
    # dismissed stays dismissed, whatever changes later
    assert api.post(f"/v1/merge-suggestions/{again['id']}/dismiss", as_="alpha_agent").status == 204
    assert _suggestions(api, first["id"]) == []
    api.call(
        "PATCH", f"/v1/contacts/{second['id']}", body={"primary_phone": "55 1234 5678"}, as_="alpha_agent"
    )
    assert _suggestions(api, first["id"]) == []
    assert _suggestions(api, second["id"]) == []
    assert api.get("/v1/merge-suggestions", as_="alpha_agent").json()["items"] == []
    # deleting a contact removes its suggestions
    third = _contact(api, emails=["a@uno.mx"])
    assert len(_suggestions(api, third["id"])) == 2
    assert api.delete(f"/v1/contacts/{third['id']}", as_="alpha_owner").status == 204
    assert _suggestions(api, first["id"]) == []


def test_accepting_keeps_the_older_contact_whatever_the_ids_say(api: ApiClient) -> None:
    # Ids stored before ids were time-ordered: the older contact has the larger id.
    legacy = ["ctc_agm5ovp4ycg6e2pd6mqtzbfg7q", "ctc_agm5ovp4ycg62aaaaaaaaaaaaa"]
    with mock.patch.object(editing, "new_id", side_effect=legacy):
        older = _contact(api, emails=["same@x.mx"])
        younger = _contact(api, first_name="Anita", emails=["same@x.mx"])
    assert (older["id"], younger["id"]) == tuple(legacy)
    [suggestion] = _suggestions(api, older["id"])
    accepted = api.post(f"/v1/merge-suggestions/{suggestion['id']}/accept", {}, as_="alpha_agent")
    assert accepted.status == 200, accepted.text
    assert accepted.json()["merge"]["survivor_id"] == older["id"]
    assert accepted.json()["merge"]["absorbed_id"] == younger["id"]
    # and an old id is still an id every route takes
    assert api.get(f"/v1/contacts/{older['id']}", as_="alpha_agent").status == 200


def test_the_workspace_listing_is_paginated(api: ApiClient) -> None:
    for index in range(4):
        _contact(api, emails=[f"pair{index}@x.mx"])
        _contact(api, emails=[f"pair{index}@x.mx"])
    seen, cursor = [], None
    while True:
        query = {"limit": "3", **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/merge-suggestions", query=query, as_="alpha_owner").json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 4
    assert api.get("/v1/merge-suggestions", as_="beta_owner").json()["items"] == []


# ------------------------------------------------------------------ identity hints


def test_a_message_mentioning_a_contacts_email_suggests_the_association(
    api: ApiClient, registered: World
) -> None:
    known = _contact(api, emails=["ana@ejemplo.com"])
    identity_id, conversation_id, detail = _messenger("hola, mi correo es ANA@ejemplo.com")
    assert handle(detail) == {"hints": 1}
    [hint] = _suggestions(api, known["id"])
    assert hint["kind"] == "conversation_hint"
    assert hint["action"] == "associate"
    assert hint["identity_id"] == identity_id
    assert hint["conversation_id"] == conversation_id
    assert hint["shared"] == [{"kind": "email", "value": "ana@ejemplo.com", "message_id": detail.message_id}]
    # false positives are not suggested
    _, _, order = _messenger("mi pedido #5512345678 no llega, costó $1,234.00 el 12/05/2024")
    assert handle(order) == {"hints": 0}
    # accepting associates the sender with the contact
    accepted = api.post(f"/v1/merge-suggestions/{hint['id']}/accept", {}, as_="alpha_agent")
    assert accepted.status == 200, accepted.text
    assert accepted.json()["outcome"] == "associated"
    assert Identity.get(*Identity.key("ws_alpha", identity_id)).contact_id == known["id"]
    assert _suggestions(api, known["id"]) == []


def test_a_whatsapp_message_with_a_phone_of_another_contact_suggests_a_merge(
    api: ApiClient, registered: World
) -> None:
    known = _contact(api, primary_phone="+52 33 1234 5678")
    ingest(unit(platform="whatsapp", account_id=WA_NUMBER, customer_id="5215598765432", text="hola"))
    identity_id = identity_id_for("whatsapp", WA_NUMBER, "5215598765432")
    conversation_id = direct_conversation_id(identity_id)
    linked = api.post(
        f"/v1/conversations/{conversation_id}/contact",
        {"contact": {"first_name": "Mari", "last_name": "L", "consent": {"given": True}}},
        as_="alpha_agent",
    ).json()["contact"]
    result = ingest(
        unit(
            platform="whatsapp",
            account_id=WA_NUMBER,
            customer_id="5215598765432",
            text="mi otro número es 33-1234-5678",
            timestamp_ms=BASE_MS + 5000,
            platform_message_id="wamid.2",
        )
    )
    event = next(event for event in result.events if event.name == "MessageReceived")
    assert handle(check(event.name, event.detail())) == {"hints": 1}
    [hint] = _suggestions(api, linked["id"])
    assert hint["action"] == "merge"
    assert hint["target_contact_id"] == known["id"]
    accepted = api.post(f"/v1/merge-suggestions/{hint['id']}/accept", {}, as_="alpha_agent").json()
    assert accepted["outcome"] == "merged"
    assert accepted["merge"]["absorbed_id"] == linked["id"]
    assert Conversation.get(*Conversation.key("ws_alpha", conversation_id)).contact_id == known["id"]


# ------------------------------------------------------------------ merge


def test_merge_moves_every_kind_of_record(api: ApiClient, registered: World) -> None:
    tag_a = api.post("/v1/tags", {"name": "VIP"}, as_="alpha_owner").json()["id"]
    tag_b = api.post("/v1/tags", {"name": "Mayoreo"}, as_="alpha_owner").json()["id"]
    api.post("/v1/custom-fields", {"key": "rfc", "label": "RFC", "type": "text"}, as_="alpha_owner")
    api.post("/v1/custom-fields", {"key": "city", "label": "Ciudad", "type": "text"}, as_="alpha_owner")
    survivor = _contact(
        api, first_name="Ana", primary_phone="+52 55 1111 2222", custom_fields={"city": "CDMX"}
    )
    api.post(f"/v1/contacts/{survivor['id']}/tags", {"tag_id": tag_a}, as_="alpha_agent")
    identity_id, conversation_id, _ = _messenger("hola")
    other = api.post(
        f"/v1/conversations/{conversation_id}/contact",
        {
            "contact": {
                "first_name": "Anita",
                "last_name": "García",
                "consent": {"given": True},
                "emails": ["anita@x.mx"],
                "primary_phone": "+52 55 3333 4444",
                "custom_fields": {"rfc": "GAAA800101XXX", "city": "Puebla"},
            }
        },
        as_="alpha_agent",
    ).json()["contact"]
    api.post(f"/v1/contacts/{other['id']}/tags", {"tag_id": tag_b}, as_="alpha_agent")

    reply = api.post(
        f"/v1/contacts/{survivor['id']}/merge",
        {"other_contact_id": other["id"], "fields": {"last_name": "other"}},
        as_="alpha_agent",
    )
    assert reply.status == 200, reply.text
    merged = reply.json()["contact"]
    assert merged["first_name"] == "Ana"
    assert merged["last_name"] == "García"
    assert merged["primary_phone"] == "+525511112222"
    assert merged["secondary_phones"] == ["+525533334444"]
    assert merged["emails"] == ["anita@x.mx"]
    assert sorted(merged["tags"]) == sorted([tag_a, tag_b])
    assert merged["custom_fields"] == {"city": "CDMX", "rfc": "GAAA800101XXX"}
    assert [identity["id"] for identity in merged["identities"]] == [identity_id]
    assert Identity.get(*Identity.key("ws_alpha", identity_id)).contact_id == survivor["id"]
    assert Conversation.get(*Conversation.key("ws_alpha", conversation_id)).contact_id == survivor["id"]
    # the absorbed contact is gone from reads, search and lookups, which point to the survivor
    assert api.get(f"/v1/contacts/{other['id']}", as_="alpha_agent").status == 404
    found = api.get("/v1/contacts", query={"q": "anita"}, as_="alpha_agent").json()["items"]
    assert [item["id"] for item in found] == [survivor["id"]]
    assert lookup.contacts_by_email("ws_alpha", "anita@x.mx") == [survivor["id"]]
    assert lookup.contacts_by_phone("ws_alpha", "+52 55 3333 4444") == [survivor["id"]]
    assert lookup.contacts_by_facebook_id(
        "ws_alpha", Identity.get(*Identity.key("ws_alpha", identity_id)).external_id
    ) == [survivor["id"]]
    all_ids = [item["id"] for item in api.get("/v1/contacts", as_="alpha_agent").json()["items"]]
    assert other["id"] not in all_ids
    # refused: itself, a merged one, a blocked one
    assert (
        api.post(
            f"/v1/contacts/{survivor['id']}/merge", {"other_contact_id": survivor["id"]}, as_="alpha_agent"
        ).status
        == 409
    )
    assert (
        api.post(
            f"/v1/contacts/{survivor['id']}/merge", {"other_contact_id": other["id"]}, as_="alpha_agent"
        ).status
        == 409
    )
    blocked = _contact(api, emails=["b@x.mx"])
    api.post(f"/v1/contacts/{blocked['id']}/block", as_="alpha_agent")
    refused = api.post(
        f"/v1/contacts/{survivor['id']}/merge", {"other_contact_id": blocked["id"]}, as_="alpha_agent"
    )
    assert refused.status == 409
    assert refused.json()["error"]["details"]["state"] == "blocked"


def test_two_senders_on_one_page_are_never_merged(api: ApiClient, registered: World) -> None:
    ids = []
    for _ in range(2):
        _, conversation_id, _ = _messenger("hola")
        body = {"contact": {"first_name": "Ana", "last_name": "L", "consent": {"given": True}}}
        ids.append(
            api.post(f"/v1/conversations/{conversation_id}/contact", body, as_="alpha_agent").json()[
                "contact"
            ]["id"]
        )
    reply = api.post(f"/v1/contacts/{ids[0]}/merge", {"other_contact_id": ids[1]}, as_="alpha_agent")
    assert reply.status == 409
    assert reply.json()["error"]["details"]["conflicting_identities"][0]["account_id"] == PAGE


# ------------------------------------------------------------------ undo


def _keys(contact_ids: set[str]) -> set[tuple[str, str]]:
    """The keys of everything stored for these contacts now: the contact, its index entries, its
    identities and their conversations (read without a Scan: the table grows with every example)."""
    keys: set[tuple[str, str]] = set()
    for contact_id in contact_ids:
        contact = Contact.get(*Contact.key("ws_alpha", contact_id), consistent_read=True)
        keys.add(Contact.key("ws_alpha", contact_id))
        keys |= set(index_items(contact)) if not contact.merged_into else set()
        for ref in contact.identities or []:
            keys.add(Identity.key("ws_alpha", ref.identity_id))
            for link in IdentityConversation.query(Identity.pk_for("ws_alpha", ref.identity_id)):
                if isinstance(link, IdentityConversation):
                    keys.add(Conversation.key("ws_alpha", link.conversation_id))
    return keys


def _snapshot(keys: set[tuple[str, str]]) -> list[dict[str, Any]]:
    """Those items as stored, without bookkeeping (version, updated_at, updated_by)."""
    table = get_settings().table_name
    items = []
    for pk, sk in sorted(keys):
        item = (
            client("dynamodb")
            .get_item(TableName=table, Key={"pk": {"S": pk}, "sk": {"S": sk}}, ConsistentRead=True)
            .get("Item")
        )
        items.append(
            {
                k: v
                for k, v in (item or {"pk": {"S": pk}, "missing": {"BOOL": True}}).items()
                if k not in merge_undo.BOOKKEEPING
            }
        )
    return items


names = st.sampled_from(["Ana", "José", "María López", "Luis", "Sofía-Inés", None])
phones = st.sampled_from(["+525511112222", "+525533334444", "+523312345678", "+14155552671"])
emails = st.sampled_from(["a@x.mx", "b@x.mx", "c@y.com"])
contact_shapes = st.fixed_dictionaries(
    {
        "first_name": names,
        "last_name": names,
        "emails": st.lists(emails, max_size=2, unique=True),
        "primary_phone": phones,
        "secondary_phones": st.lists(phones, max_size=2, unique=True),
        "tags": st.lists(st.sampled_from(["VIP", "Mayoreo", "Nuevo"]), max_size=2, unique=True),
        "identity": st.booleans(),
        "company": st.sampled_from(["ACME", None]),
    }
)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=contact_shapes, second=contact_shapes, take_other=st.booleans())
def test_undo_round_trips_exactly(
    api: ApiClient, registered: World, first: dict[str, Any], second: dict[str, Any], take_other: bool
) -> None:
    created = [
        _make(api, shape, platform) for shape, platform in ((first, "messenger"), (second, "instagram"))
    ]
    ids = {contact["id"] for contact in created}
    keys = _keys(ids)
    before = _snapshot(keys)
    choices = {"first_name": "other", "primary_phone": "other"} if take_other else None
    result = merge.merge_contacts("ws_alpha", created[0]["id"], created[1]["id"], ACTOR, choices)
    added = _keys(ids) - keys  # entries only the merged state has
    assert _snapshot(keys) != before
    merge_undo.undo_merge("ws_alpha", result.merge.merge_id, ACTOR, may_undo_others=False)
    assert _snapshot(keys) == before
    assert all("missing" in item for item in _snapshot(added))
    assert Merge.get(*Merge.key("ws_alpha", result.merge.merge_id)).status == "undone"


def _make(api: ApiClient, shape: dict[str, Any], platform: str) -> dict[str, Any]:
    fields = {
        key: shape[key]
        for key in ("first_name", "last_name", "emails", "primary_phone", "secondary_phones", "company")
    }
    if shape["identity"]:
        _, conversation_id, _ = _messenger("hola", platform=platform)
        body = {
            "contact": {
                **fields,
                "first_name": fields["first_name"] or "X",
                "last_name": fields["last_name"] or "Y",
                "consent": {"given": True},
            }
        }
        contact = api.post(f"/v1/conversations/{conversation_id}/contact", body, as_="alpha_agent").json()[
            "contact"
        ]
    else:
        contact = editing.create_contact("ws_alpha", fields, ACTOR).contact_id
        contact = {"id": contact}
    for name in shape["tags"]:
        tag = api.post("/v1/tags", {"name": name}, as_="alpha_owner").json()
        tag_id = tag.get("id") or tag["error"]["details"]["tag_id"]
        tagging.add_tag("ws_alpha", contact["id"], tag_id, ACTOR)
    return contact


def test_undo_is_refused_after_a_conflicting_edit(api: ApiClient, registered: World) -> None:
    survivor = _contact(api, emails=["s@x.mx"])
    other = _contact(api, first_name="Otra", emails=["o@x.mx"])
    merged = api.post(
        f"/v1/contacts/{survivor['id']}/merge", {"other_contact_id": other["id"]}, as_="alpha_agent"
    ).json()
    api.call("PATCH", f"/v1/contacts/{survivor['id']}", body={"company": "Nueva"}, as_="alpha_agent")
    reply = api.post(f"/v1/merges/{merged['merge']['id']}/undo", as_="alpha_agent")
    assert reply.status == 409
    [problem] = reply.json()["error"]["details"]["problems"]
    assert problem["id"] == survivor["id"]
    assert problem["fields"] == ["company"]
    assert api.get(f"/v1/contacts/{other['id']}", as_="alpha_agent").status == 404  # nothing undone
    # put it back as it was: the undo is exact again
    api.call("PATCH", f"/v1/contacts/{survivor['id']}", body={"company": None}, as_="alpha_agent")
    assert api.post(f"/v1/merges/{merged['merge']['id']}/undo", as_="alpha_agent").status == 200
    assert api.get(f"/v1/contacts/{other['id']}", as_="alpha_agent").json()["emails"] == ["o@x.mx"]
    assert api.post(f"/v1/merges/{merged['merge']['id']}/undo", as_="alpha_agent").status == 409


# ------------------------------------------------------------------ concurrency


def _race(calls: list[Any]) -> list[Any]:
    barrier = threading.Barrier(len(calls))
    outcomes: list[Any] = [None] * len(calls)

    def run(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = calls[index]()
        except DomainError as error:
            outcomes[index] = error

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_concurrent_merges_of_one_pair_make_one_merge(api: ApiClient) -> None:
    first = _contact(api, emails=["same@x.mx"])
    second = _contact(api, emails=["same@x.mx"])
    outcomes = _race(
        [
            lambda: merge.merge_contacts("ws_alpha", first["id"], second["id"], ACTOR),
            lambda: merge.merge_contacts("ws_alpha", first["id"], second["id"], ACTOR),
            lambda: merge.merge_contacts("ws_alpha", second["id"], first["id"], ACTOR),
        ]
    )
    merges = list(Merge.query(Merge.partition("ws_alpha")))
    assert len(merges) == 1
    assert sum(isinstance(outcome, merge.MergeResult) for outcome in outcomes) >= 1
    assert all(isinstance(outcome, (merge.MergeResult, Conflict)) for outcome in outcomes)
    absorbed = merges[0].absorbed_id
    assert api.get(f"/v1/contacts/{absorbed}", as_="alpha_agent").status == 404


def test_a_merge_racing_an_edit_never_half_merges(api: ApiClient) -> None:
    survivor = _contact(api, emails=["s@x.mx"])
    other = _contact(api, emails=["o@x.mx"])
    outcomes = _race(
        [
            lambda: merge.merge_contacts("ws_alpha", survivor["id"], other["id"], ACTOR),
            lambda: editing.update_contact("ws_alpha", other["id"], {"company": "Editada"}, ACTOR, None),
        ]
    )
    assert not any(
        isinstance(outcome, Exception) and not isinstance(outcome, DomainError) for outcome in outcomes
    )
    final = api.get(f"/v1/contacts/{survivor['id']}", as_="alpha_agent").json()
    absorbed = api.get(f"/v1/contacts/{other['id']}", as_="alpha_agent")
    if absorbed.status == 404:  # merged: the edit is either in the merge or was refused
        assert final["emails"] == ["s@x.mx", "o@x.mx"]
        edited = isinstance(outcomes[1], Contact)
        assert final["company"] == ("Editada" if edited else None)
    else:
        assert final["emails"] == ["s@x.mx"]
        assert absorbed.json()["company"] == "Editada"
    assert lookup.contacts_by_email("ws_alpha", "o@x.mx") in ([survivor["id"]], [other["id"]])


# ------------------------------------------------------------------ permissions and history


def test_who_may_undo_and_see_the_history(api: ApiClient) -> None:
    pairs = [(_contact(api, emails=[f"p{n}@x.mx"]), _contact(api, emails=[f"p{n}@x.mx"])) for n in range(2)]
    by_owner = api.post(
        f"/v1/contacts/{pairs[0][0]['id']}/merge", {"other_contact_id": pairs[0][1]["id"]}, as_="alpha_owner"
    )
    by_agent = api.post(
        f"/v1/contacts/{pairs[1][0]['id']}/merge", {"other_contact_id": pairs[1][1]["id"]}, as_="alpha_agent"
    )
    assert by_owner.status == by_agent.status == 200
    assert api.post(f"/v1/merges/{by_owner.json()['merge']['id']}/undo", as_="alpha_agent").status == 403
    assert api.get("/v1/merges", as_="alpha_agent").status == 403
    history = api.get("/v1/merges", as_="alpha_manager").json()["items"]
    assert [item["id"] for item in history] == [
        by_agent.json()["merge"]["id"],
        by_owner.json()["merge"]["id"],
    ]
    assert history[0]["by"] == "usr_alpha_agent"
    assert history[0]["status"] == "done"
    assert api.get("/v1/merges", as_="beta_owner").json()["items"] == []
    assert api.get(f"/v1/merges/{history[0]['id']}", as_="beta_owner").status == 404
    assert api.post(f"/v1/merges/{by_agent.json()['merge']['id']}/undo", as_="alpha_agent").status == 200
    assert api.post(f"/v1/merges/{by_owner.json()['merge']['id']}/undo", as_="alpha_manager").status == 200
    # undone merges are listed as such; the pairs are suggested again
    assert {item["status"] for item in api.get("/v1/merges", as_="alpha_owner").json()["items"]} == {"undone"}
    assert len(_suggestions(api, pairs[0][0]["id"])) == 1
    assert suggestions.contact_suggestions("ws_alpha", pairs[1][1]["id"])
