"""Contacts through the HTTP API: fields and their normalisation, partial and concurrent edits,
search, tags, custom fields, deletion, roles and workspace isolation."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest

from inbox_crm.contacts import lookup
from inbox_crm.contacts.actors import Actor
from inbox_crm.contacts.editing import update_contact
from inbox_crm.core.errors import PreconditionFailed
from inbox_crm.store.models import Contact, InboxItem, Workspace
from support.api import ApiClient, Reply

MARIA = {"first_name": "María José", "last_name": "López", "primary_phone": "55 1234 5678"}


def _create(api: ApiClient, as_: str = "alpha_agent", **fields: Any) -> dict[str, Any]:
    reply = api.post("/v1/contacts", fields or dict(MARIA), as_=as_)
    assert reply.status == 201, reply.text
    return reply.json()


def _patch(
    api: ApiClient, contact_id: str, body: dict[str, Any], as_: str = "alpha_agent", **kw: Any
) -> Reply:
    return api.call("PATCH", f"/v1/contacts/{contact_id}", body=body, as_=as_, **kw)


def _search(api: ApiClient, as_: str = "alpha_agent", **query: str) -> list[dict[str, Any]]:
    reply = api.get("/v1/contacts", query=query, as_=as_)
    assert reply.status == 200, reply.text
    return reply.json()["items"]


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def _errors(reply: Reply) -> dict[tuple[str | int, ...], str]:
    assert reply.status == 422, reply.text
    return {tuple(detail["loc"]): detail["type"] for detail in reply.json()["error"]["details"]}


# ------------------------------------------------------------------ fields


def test_an_agent_creates_a_contact_with_normalised_phones_and_emails(api: ApiClient) -> None:
    body = {
        "first_name": " María ",
        "last_name": "López",
        "emails": [" Maria.Lopez@Correo.MX ", "maria.lopez@correo.mx", "otra@ejemplo.com"],
        "primary_phone": "+52 (55) 1234-5678",
        "secondary_phones": ["33 1234 5678", "5512345678"],
        "whatsapp_phone": "+52 1 55 8765 4321",
        "language": "es-MX",
        "company": "Tienda Lupita",
        "consent": {"given": True},
        "source": "Feria 2026",
    }
    contact = _create(api, **body)
    assert contact["first_name"] == "María"
    assert contact["emails"] == ["maria.lopez@correo.mx", "otra@ejemplo.com"]
    assert contact["primary_phone"] == "+525512345678"
    assert contact["secondary_phones"] == ["+523312345678"]  # the primary is not repeated
    assert contact["whatsapp_phone"] == "+525587654321"  # Mexico's old mobile "1" dropped
    assert contact["country"] == "MX"
    assert contact["language"] == "es-mx"
    assert contact["consent"]["given"] is True
    assert contact["consent"]["recorded_by"] == "usr_alpha_agent"
    assert contact["source"] == "Feria 2026"
    assert contact["version"] == 1
    assert contact["created_by"] == "usr_alpha_agent"
    assert api.get(f"/v1/contacts/{contact['id']}", as_="alpha_agent").json() == contact


def test_a_contact_needs_a_primary_phone_or_an_email(api: ApiClient) -> None:
    reply = api.post("/v1/contacts", {"first_name": "Sin", "last_name": "Datos"}, as_="alpha_agent")
    assert _errors(reply) == {("primary_phone",): "missing", ("emails",): "missing"}
    assert _create(api, emails=["solo@correo.mx"])["primary_phone"] is None


def test_every_invalid_field_is_named_at_once(api: ApiClient) -> None:
    reply = api.post(
        "/v1/contacts",
        {
            "first_name": "X",
            "primary_phone": "12345",
            "secondary_phones": ["+52 55 1234 5678", "abc"],
            "emails": ["ok@correo.mx", "no-es-correo"],
            "country": "ZZ",
            "language": "español",
        },
        as_="alpha_agent",
    )
    assert _errors(reply) == {
        ("primary_phone",): "phone_invalid",
        ("secondary_phones", 1): "phone_invalid",
        ("emails", 1): "email_invalid",
        ("country",): "country_invalid",
        ("language",): "language_invalid",
    }
    assert not [item for item in InboxItem.scan() if isinstance(item, Contact)]


@pytest.mark.parametrize(
    "body",
    [
        {"first_name": "A", "emails": ["a@b.co"], "unknown": 1},
        {"first_name": "", "emails": ["a@b.co"]},
        {"emails": ["a@b.co"] * 6},
        {"emails": "a@b.co"},
        {"emails": ["a@b.co"], "consent": {"given": "maybe"}},
        {"emails": ["a@b.co"], "first_name": "\ud83d"},
    ],
)
def test_malformed_bodies_are_422(api: ApiClient, body: dict[str, Any]) -> None:
    assert api.post("/v1/contacts", body, as_="alpha_agent").status == 422


def test_national_numbers_are_read_in_the_workspace_region(api: ApiClient) -> None:
    workspace = Workspace.get(*Workspace.key("ws_alpha"))
    workspace.update(actions=[Workspace.default_region.set("CO")])
    contact = _create(api, first_name="Camilo", primary_phone="300 1234567")
    assert contact["primary_phone"] == "+573001234567"
    assert contact["country"] == "CO"


def test_patch_changes_only_what_is_sent_and_null_clears(api: ApiClient) -> None:
    contact = _create(api, **MARIA, company="Lupita", language="es")
    reply = _patch(api, contact["id"], {"last_name": "Pérez", "company": None, "version": 1})
    assert reply.status == 200, reply.text
    edited = reply.json()
    assert edited["last_name"] == "Pérez"
    assert edited["company"] is None
    assert edited["first_name"] == "María José"
    assert edited["language"] == "es"
    assert edited["version"] == 2
    # the country follows the phone until a person sets it, and again once they clear it
    assert _patch(api, contact["id"], {"country": "ar"}).json()["country"] == "AR"
    moved = _patch(api, contact["id"], {"primary_phone": "+1 415 555 2671"}).json()
    assert moved["country"] == "AR"
    assert moved["country_manual"] is True
    assert _patch(api, contact["id"], {"country": None}).json()["country"] == "US"
    # a change that changes nothing writes nothing
    current = api.get(f"/v1/contacts/{contact['id']}").json()
    assert _patch(api, contact["id"], {"last_name": "Pérez"}).json()["version"] == current["version"]


def test_patch_cannot_leave_a_contact_unidentified(api: ApiClient) -> None:
    contact = _create(api, **MARIA)
    reply = _patch(api, contact["id"], {"primary_phone": None})
    assert _errors(reply) == {("primary_phone",): "missing", ("emails",): "missing"}


def test_a_stale_version_is_412_by_body_or_if_match_and_writes_nothing(api: ApiClient) -> None:
    contact = _create(api)
    assert _patch(api, contact["id"], {"last_name": "Uno"}, headers={"If-Match": '"1"'}).status == 200
    stale_body = _patch(api, contact["id"], {"last_name": "Dos", "version": 1})
    stale_header = _patch(api, contact["id"], {"last_name": "Tres"}, headers={"If-Match": "1"})
    assert stale_body.status == 412
    assert stale_header.status == 412
    assert stale_body.json()["error"]["details"] == {"current_version": 2, "your_version": 1}
    assert api.get(f"/v1/contacts/{contact['id']}").json()["last_name"] == "Uno"
    assert _patch(api, contact["id"], {"last_name": "X"}, headers={"If-Match": "dos"}).status == 422


def _edit_concurrently(
    contact_id: str, edits: dict[str, dict[str, Any]], version: int | None
) -> dict[str, str]:
    """Run the edits at the same time through the domain function the PATCH route calls. (Powertools
    keeps the request being resolved in a class attribute, so the Lambda handler itself cannot serve
    two requests at once in one process; Lambda never asks it to.)"""
    outcome: dict[str, str] = {}
    barrier = threading.Barrier(len(edits))

    def edit(name: str, fields: dict[str, Any]) -> None:
        barrier.wait()
        try:
            update_contact("ws_alpha", contact_id, fields, Actor(f"usr_{name}"), version)
            outcome[name] = "ok"
        except PreconditionFailed:
            outcome[name] = "stale"

    threads = [threading.Thread(target=edit, args=item) for item in edits.items()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcome


def test_concurrent_edits_of_the_same_version_never_lose_an_update(api: ApiClient) -> None:
    contact = _create(api)
    names = ("Norte", "Sur", "Este", "Oeste")
    outcome = _edit_concurrently(contact["id"], {name: {"last_name": name} for name in names}, version=1)
    winners = [name for name, result in outcome.items() if result == "ok"]
    assert len(winners) == 1
    assert sorted(outcome.values()) == ["ok", "stale", "stale", "stale"]
    final = api.get(f"/v1/contacts/{contact['id']}").json()
    assert (final["last_name"], final["version"]) == (winners[0], 2)
    # the search index follows the winner only
    assert _ids(_search(api, q=winners[0])) == [contact["id"]]
    assert all(_search(api, q=name) == [] for name in names if name not in winners)
    # and over HTTP, the losers' PATCH of version 1 is refused
    assert _patch(api, contact["id"], {"last_name": "Tarde", "version": 1}).status == 412


def test_edits_without_a_version_all_apply(api: ApiClient) -> None:
    contact = _create(api)
    edits = {
        "a": {"company": "Lupita"},
        "b": {"language": "es"},
        "c": {"source": "web"},
        "d": {"last_name": "Ruiz"},
    }
    assert _edit_concurrently(contact["id"], edits, version=None) == dict.fromkeys(edits, "ok")
    final = api.get(f"/v1/contacts/{contact['id']}").json()
    assert (final["company"], final["language"], final["source"], final["last_name"]) == (
        "Lupita",
        "es",
        "web",
        "Ruiz",
    )
    assert final["version"] == 5


# ------------------------------------------------------------------ search


def test_search_is_prefix_case_and_accent_insensitive_on_names(api: ApiClient) -> None:
    maria = _create(api, **MARIA)["id"]
    mario = _create(api, first_name="Mario", last_name="Martínez", emails=["mario@correo.mx"])["id"]
    _create(api, first_name="Pedro", last_name="Páramo", emails=["pedro@correo.mx"])
    assert _ids(_search(api, q="mari")) == [maria, mario]
    assert _ids(_search(api, q="MARÍA")) == [maria]
    assert _ids(_search(api, q="lóp")) == [maria]
    assert _ids(_search(api, q="jose")) == [maria]
    assert _ids(_search(api, q="maria lop")) == [maria]
    assert _ids(_search(api, q="María J. López")) == [maria]
    assert _ids(_search(api, q="lopez maria")) == [maria]
    assert _search(api, q="maria mart") == []
    assert _ids(_search(api, q="mart")) == [mario]


def test_search_finds_phones_typed_in_any_common_format(api: ApiClient) -> None:
    maria = _create(api, **MARIA, secondary_phones=["+1 415 555 2671"])["id"]
    _create(api, first_name="Otro", primary_phone="+52 33 1111 2222")
    for typed in (
        "55 1234 5678",
        "+52 (55) 1234-5678",
        "5512345678",
        "+52 1 55 1234 5678",
        "551234",
        "52 55 12",
    ):
        assert _ids(_search(api, q=typed)) == [maria], typed
    assert _ids(_search(api, q="(415) 555")) == [maria]


def test_search_finds_emails_by_prefix(api: ApiClient) -> None:
    maria = _create(api, first_name="Ana", emails=["Maria.Lopez@Correo.mx"])["id"]
    assert _ids(_search(api, q="maria.lopez@")) == [maria]
    assert _ids(_search(api, q="maría.lo")) == [maria]
    assert _ids(_search(api, q="MARIA.LOPEZ@CORREO.MX")) == [maria]
    assert _search(api, q="lopez@") == []


def test_search_pages_answer_each_contact_once(api: ApiClient) -> None:
    # "mar" matches several tokens of each contact (first name, last name, email)
    created = [
        _create(api, first_name=f"Mar{name}", last_name="Marín", emails=[f"mar{name}@correo.mx"])["id"]
        for name in ("ía", "io", "cos", "ta")
    ]
    seen: list[str] = []
    cursor = None
    for _ in range(10):
        query = {"q": "mar", "limit": "1", **({"cursor": cursor} if cursor else {})}
        page = api.get("/v1/contacts", query=query, as_="alpha_agent").json()
        seen += _ids(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(created)
    assert len(seen) == len(set(seen))


def test_search_refuses_short_queries_and_foreign_cursors(api: ApiClient) -> None:
    assert _errors(api.get("/v1/contacts", query={"q": "m"})) == {("q",): "too_short"}
    assert _errors(api.get("/v1/contacts", query={"q": "¡!"})) == {("q",): "too_short"}
    for name in ("Mar", "Marco"):
        _create(api, first_name=name, emails=[f"{name}@c.mx"])
    cursor = api.get("/v1/contacts", query={"q": "mar", "limit": "1"}).json()["next_cursor"]
    assert cursor
    assert api.get("/v1/contacts", query={"q": "mzz", "cursor": cursor}).status == 400
    assert api.get("/v1/contacts", query={"q": "mar", "cursor": cursor}, as_="beta_owner").status == 400
    assert api.get("/v1/contacts", query={"cursor": "%%%"}).status == 400


def test_the_list_without_query_is_newest_first_and_paginated(api: ApiClient) -> None:
    # Many contacts within a few milliseconds: lower-case RFC 4648 ids misordered ~1 pair in 5.
    created = [_create(api, first_name=f"C{n}", emails=[f"c{n}@c.mx"])["id"] for n in range(10)]
    listed, cursor = [], None
    for _ in range(4):
        page = api.get("/v1/contacts", query={"limit": "3", **({"cursor": cursor} if cursor else {})}).json()
        listed += _ids(page["items"])
        cursor = page["next_cursor"]
    assert listed == created[::-1]
    assert cursor is None


def test_search_follows_edits_and_deletes(api: ApiClient) -> None:
    contact = _create(api, **MARIA)
    _patch(api, contact["id"], {"first_name": "Lucía", "primary_phone": "33 9999 0000"})
    assert _search(api, q="maria") == []
    assert _search(api, q="5512") == []
    assert _ids(_search(api, q="luc")) == [contact["id"]]
    assert _ids(_search(api, q="3399")) == [contact["id"]]
    assert api.delete(f"/v1/contacts/{contact['id']}", as_="alpha_manager").status == 204
    assert _search(api, q="luc") == []
    assert _search(api) == []


# ------------------------------------------------------------------ lookups


def test_lookups_by_phone_and_email_find_every_contact_holding_the_value(api: ApiClient) -> None:
    first = _create(api, first_name="Uno", primary_phone="55 1234 5678", emails=["COMUN@correo.mx"])["id"]
    second = _create(api, first_name="Dos", emails=["otro@correo.mx"], secondary_phones=["+525512345678"])[
        "id"
    ]
    third = _create(api, first_name="Tres", emails=["x@correo.mx"], whatsapp_phone="5512345678")["id"]
    holders = lookup.contacts_by_phone("ws_alpha", "+52 55 1234 5678")
    assert sorted(holders) == sorted([first, second, third])
    assert lookup.contacts_by_phone("ws_alpha", "55 1234 5678", "MX") == holders
    assert lookup.contacts_by_phone("ws_beta", "+525512345678") == []
    assert lookup.contacts_by_email("ws_alpha", " comun@CORREO.mx") == [first]
    assert lookup.contacts_by_email("ws_alpha", "not an email") == []


# ------------------------------------------------------------------ tags


def test_tags_are_created_by_managers_and_added_by_anyone(api: ApiClient) -> None:
    assert api.post("/v1/tags", {"name": "VIP"}, as_="alpha_agent").status == 403
    created = api.post("/v1/tags", {"name": "VIP", "color": "#FFAA00"}, as_="alpha_manager")
    assert created.status == 201
    tag = created.json()
    duplicate = api.post("/v1/tags", {"name": " vip "}, as_="alpha_owner")
    assert duplicate.status == 409
    assert duplicate.json()["error"]["details"] == {"tag_id": tag["id"]}
    assert api.get("/v1/tags", as_="alpha_agent").json()["items"] == [tag]

    contact = _create(api)
    tagged = api.post(f"/v1/contacts/{contact['id']}/tags", {"tag_id": tag["id"]}, as_="alpha_agent")
    assert tagged.status == 200
    assert tagged.json()["tags"] == [tag["id"]]
    again = api.post(f"/v1/contacts/{contact['id']}/tags", {"tag_id": tag["id"]}, as_="alpha_agent")
    assert again.json()["version"] == tagged.json()["version"]  # already there: nothing written
    assert _ids(_search(api, tag=tag["id"])) == [contact["id"]]
    assert _ids(_search(api, q="mari", tag=tag["id"])) == [contact["id"]]
    unknown = api.post(f"/v1/contacts/{contact['id']}/tags", {"tag_id": "tag_nope"}, as_="alpha_agent")
    assert unknown.status == 404

    removed = api.delete(f"/v1/contacts/{contact['id']}/tags/{tag['id']}", as_="alpha_agent")
    assert removed.status == 200
    assert removed.json()["tags"] == []
    assert _search(api, tag=tag["id"]) == []


def test_bulk_tagging_reports_each_contact(api: ApiClient) -> None:
    tag = api.post("/v1/tags", {"name": "Black Friday"}, as_="alpha_owner").json()
    first, second = _create(api)["id"], _create(api, **{**MARIA, "first_name": "Ana"})["id"]
    foreign = _create(api, as_="beta_agent")["id"]
    body = {"contact_ids": [first, second, first, foreign, "ctc_missing"], "action": "add"}
    reply = api.post(f"/v1/tags/{tag['id']}/contacts", body, as_="alpha_agent")
    assert reply.status == 200
    assert reply.json()["results"] == [
        {"contact_id": first, "status": "added"},
        {"contact_id": second, "status": "added"},
        {"contact_id": foreign, "status": "not_found"},
        {"contact_id": "ctc_missing", "status": "not_found"},
    ]
    assert sorted(_ids(_search(api, tag=tag["id"]))) == sorted([first, second])
    removal = api.post(f"/v1/tags/{tag['id']}/contacts", {"contact_ids": [first], "action": "remove"})
    assert removal.json()["results"] == [{"contact_id": first, "status": "removed"}]
    assert _ids(_search(api, tag=tag["id"])) == [second]
    assert api.post("/v1/tags/tag_nope/contacts", {"contact_ids": [first], "action": "add"}).status == 404
    assert api.post(f"/v1/tags/{tag['id']}/contacts", {"contact_ids": [], "action": "add"}).status == 422


# ------------------------------------------------------------------ custom fields


def _define(api: ApiClient, key: str, field_type: str, **extra: Any) -> Reply:
    body = {"key": key, "label": key.title(), "type": field_type, **extra}
    return api.post("/v1/custom-fields", body, as_="alpha_manager")


def test_custom_fields_are_defined_by_managers_and_validated_by_type(api: ApiClient) -> None:
    assert (
        api.post("/v1/custom-fields", {"key": "rfc", "label": "RFC", "type": "id"}, as_="alpha_agent").status
        == 403
    )
    assert _define(api, "rfc", "id").status == 201
    assert _define(api, "rfc", "text").status == 409
    assert _define(api, "talla", "single_select", options=["S", "M", "L"]).status == 201
    assert _define(api, "nacimiento", "date").status == 201
    assert _define(api, "compras", "number").status == 201
    assert _define(api, "mayorista", "boolean").status == 201
    assert _define(api, "notas", "text").status == 201
    assert _errors(_define(api, "vacia", "single_select")) == {("options",): "options"}
    assert _errors(_define(api, "Mal Nombre", "text")) == {("key",): "string_pattern_mismatch"}
    listed = api.get("/v1/custom-fields", as_="alpha_agent").json()["items"]
    assert {field["key"]: field["type"] for field in listed}["talla"] == "single_select"

    values = {
        "rfc": " LOPM800101ABC ",
        "talla": "M",
        "nacimiento": "1980-01-01",
        "compras": 3,
        "mayorista": False,
        "notas": "Prefiere WhatsApp",
    }
    contact = _create(api, **MARIA, custom_fields=values)
    assert contact["custom_fields"] == {**values, "rfc": "LOPM800101ABC"}

    bad = {"talla": "XL", "nacimiento": "1980-02-30", "compras": "tres", "mayorista": "no", "color": "rojo"}
    assert _errors(_patch(api, contact["id"], {"custom_fields": bad})) == {
        ("custom_fields", "talla"): "single_select",
        ("custom_fields", "nacimiento"): "date",
        ("custom_fields", "compras"): "number",
        ("custom_fields", "mayorista"): "boolean",
        ("custom_fields", "color"): "unknown",
    }
    edited = _patch(api, contact["id"], {"custom_fields": {"talla": "L", "notas": None}}).json()
    expected = {**values, "rfc": "LOPM800101ABC", "talla": "L"}
    del expected["notas"]
    assert edited["custom_fields"] == expected


# ------------------------------------------------------------------ delete, roles, isolation


def test_delete_is_for_managers_and_keeps_an_audit_record(api: ApiClient) -> None:
    contact = _create(api)
    assert api.delete(f"/v1/contacts/{contact['id']}", as_="alpha_agent").status == 403
    assert api.delete(f"/v1/contacts/{contact['id']}", as_="alpha_owner").status == 204
    assert api.get(f"/v1/contacts/{contact['id']}").status == 404
    assert api.delete(f"/v1/contacts/{contact['id']}", as_="alpha_owner").status == 404
    assert _patch(api, contact["id"], {"last_name": "X"}).status == 404
    record = Contact.get(*Contact.key("ws_alpha", contact["id"]))
    assert (record.deleted, record.deleted_by, record.first_name) == (True, "usr_alpha_owner", "María José")
    assert lookup.contacts_by_phone("ws_alpha", "+525512345678") == []


def test_another_workspaces_contact_is_404_everywhere(api: ApiClient) -> None:
    contact = _create(api)
    path = f"/v1/contacts/{contact['id']}"
    assert api.get(path, as_="beta_owner").status == 404
    assert _patch(api, contact["id"], {"last_name": "X"}, as_="beta_owner").status == 404
    assert api.delete(path, as_="beta_owner").status == 404
    assert api.post(f"{path}/block", as_="beta_owner").status == 404
    assert api.post(f"{path}/unblock", as_="beta_owner").status == 404
    tag = api.post("/v1/tags", {"name": "VIP"}, as_="beta_owner").json()
    assert api.post(f"{path}/tags", {"tag_id": tag["id"]}, as_="beta_owner").status == 404
    assert _search(api, as_="beta_owner", q="maria") == []
    assert _search(api, as_="beta_owner") == []
    assert api.get(path).json()["version"] == 1


@pytest.mark.parametrize(
    ("method", "path", "body", "allowed"),
    [
        ("GET", "/v1/contacts", None, {"owner", "manager", "agent"}),
        (
            "POST",
            "/v1/contacts",
            {"first_name": "Rol", "emails": ["rol@c.mx"]},
            {"owner", "manager", "agent"},
        ),
        ("GET", "/v1/contacts/{id}", None, {"owner", "manager", "agent"}),
        ("PATCH", "/v1/contacts/{id}", {"company": "X"}, {"owner", "manager", "agent"}),
        ("POST", "/v1/contacts/{id}/block", None, {"owner", "manager", "agent"}),
        ("POST", "/v1/contacts/{id}/unblock", None, {"owner", "manager"}),
        ("DELETE", "/v1/contacts/{id}", None, {"owner", "manager"}),
        ("GET", "/v1/tags", None, {"owner", "manager", "agent"}),
        ("POST", "/v1/tags", {"name": "Rol {role}"}, {"owner", "manager"}),
        ("GET", "/v1/custom-fields", None, {"owner", "manager", "agent"}),
        (
            "POST",
            "/v1/custom-fields",
            {"key": "rol_{role}", "label": "Rol", "type": "text"},
            {"owner", "manager"},
        ),
    ],
)
def test_each_route_enforces_its_roles(
    api: ApiClient, method: str, path: str, body: dict[str, Any] | None, allowed: set[str]
) -> None:
    for role in ("owner", "manager", "agent"):
        contact = _create(api, as_="alpha_owner")
        sent = json.loads(json.dumps(body).replace("{role}", role)) if body else None
        reply = api.call(method, path.format(id=contact["id"]), body=sent, as_=f"alpha_{role}")
        if role in allowed:
            assert reply.status in (200, 201, 204), (role, reply.text)
        else:
            assert reply.status == 403, (role, reply.text)
            assert reply.json()["error"]["details"]["allowed_roles"] == sorted(allowed)


def test_odd_ids_and_blank_names_get_defined_answers(api: ApiClient) -> None:
    huge = "x" * 3000
    assert api.get(f"/v1/contacts/{huge}").status == 404
    assert api.get("/v1/contacts/ctc_%F0%9F%98%80").status == 404
    assert api.post(f"/v1/tags/{huge}/contacts", {"contact_ids": ["ctc_a"], "action": "add"}).status == 404
    assert api.post(f"/v1/conversations/{huge}/contact", {"contact_id": "ctc_a"}).status == 404
    contact = _create(api)
    assert api.delete(f"/v1/contacts/{contact['id']}/tags/{huge}").status == 200  # not there: unchanged
    blank = api.post("/v1/conversations/cnv_x/contact", {"contact": {"first_name": "  ", "last_name": "L"}})
    assert blank.status == 422
