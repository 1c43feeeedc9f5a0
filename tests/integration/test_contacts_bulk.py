"""POST /v1/contacts/bulk: the contact list's bulk actions, on chosen contacts or on every contact a
filter matches (one page per call, so thousands of contacts never need one long request)."""

from __future__ import annotations

from typing import Any

import pytest

from inbox_crm.contacts import bulk
from support.api import ApiClient

MARIA = {"first_name": "María", "last_name": "López", "primary_phone": "55 1234 5678"}


def _create(api: ApiClient, first_name: str, as_: str = "alpha_owner") -> str:
    reply = api.post("/v1/contacts", {**MARIA, "first_name": first_name}, as_=as_)
    assert reply.status == 201, reply.text
    return str(reply.json()["id"])


def _bulk(api: ApiClient, body: dict[str, Any], as_: str = "alpha_owner") -> dict[str, Any]:
    reply = api.post("/v1/contacts/bulk", body, as_=as_)
    assert reply.status == 200, reply.text
    return dict(reply.json())


def _all_pages(api: ApiClient, body: dict[str, Any], as_: str = "alpha_owner") -> tuple[dict[str, str], int]:
    """What a client does for "all matching": call again with next_cursor until it is null."""
    results: dict[str, str] = {}
    calls, cursor = 0, None
    while True:
        answer = _bulk(api, {**body, **({"cursor": cursor} if cursor else {})}, as_=as_)
        calls += 1
        results.update({item["contact_id"]: item["status"] for item in answer["results"]})
        cursor = answer["next_cursor"]
        if cursor is None:
            return results, calls


def _blocked(api: ApiClient) -> set[str]:
    items = api.get("/v1/contacts", query={"blocked": "true", "limit": "100"}).json()["items"]
    return {item["id"] for item in items}


def test_all_matching_a_filter_are_changed_page_by_page_and_a_repeat_changes_nothing(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "PAGE", 3)
    tag = api.post("/v1/tags", {"name": "Spam"}, as_="alpha_owner").json()["id"]
    spam = [_create(api, f"Spam{index}") for index in range(7)]
    others = [_create(api, "Otro"), _create(api, "Otra")]
    tagged = _bulk(api, {"action": "tag", "tag_id": tag, "contact_ids": spam}, as_="alpha_agent")
    assert {item["status"] for item in tagged["results"]} == {"done"}

    results, calls = _all_pages(api, {"action": "block", "filter": {"tag": tag}}, as_="alpha_agent")
    assert results == dict.fromkeys(spam, "done")
    assert calls == 3  # 3 + 3 + 1
    assert _blocked(api) == set(spam)
    assert not _blocked(api) & set(others)

    again, _ = _all_pages(api, {"action": "block", "filter": {"tag": tag}}, as_="alpha_agent")
    assert again == dict.fromkeys(spam, "unchanged")

    unblocked, _ = _all_pages(api, {"action": "unblock", "filter": {"blocked": True}}, as_="alpha_manager")
    assert unblocked == dict.fromkeys(spam, "done")
    assert _blocked(api) == set()


def test_delete_all_matching_a_search_reports_what_it_could_not_do(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bulk, "PAGE", 2)
    doomed = [_create(api, f"Borrame{index}") for index in range(4)]
    keeper = _create(api, "Quedate")
    _bulk(api, {"action": "block", "contact_ids": [doomed[0]]})

    results, _ = _all_pages(api, {"action": "delete", "filter": {"q": "borrame"}}, as_="alpha_manager")
    # A blocked contact must be unblocked before it is deleted: reported, the rest still deleted.
    assert results == {doomed[0]: "conflict", **dict.fromkeys(doomed[1:], "done")}
    for contact_id in doomed[1:]:
        assert api.get(f"/v1/contacts/{contact_id}").status == 404
    assert api.get(f"/v1/contacts/{keeper}").status == 200

    chosen = _bulk(api, {"action": "delete", "contact_ids": [doomed[1], "ctc_missing", keeper]})
    assert chosen["results"] == [
        {"contact_id": doomed[1], "status": "not_found"},
        {"contact_id": "ctc_missing", "status": "not_found"},
        {"contact_id": keeper, "status": "done"},
    ]
    assert chosen["next_cursor"] is None


def test_each_action_needs_its_role_and_other_workspaces_are_out_of_reach(api: ApiClient) -> None:
    mine = _create(api, "Mía")
    foreign = _create(api, "Ajena", as_="beta_owner")
    for action, allowed in {
        "block": {"owner", "manager", "agent"},
        "unblock": {"owner", "manager"},
        "delete": {"owner", "manager"},
    }.items():
        for role in ("agent", "manager", "owner"):
            reply = api.post(
                "/v1/contacts/bulk", {"action": action, "contact_ids": ["ctc_x"]}, as_=f"alpha_{role}"
            )
            assert reply.status == (200 if role in allowed else 403), (action, role, reply.text)

    answer = _bulk(api, {"action": "block", "contact_ids": [mine, foreign]})
    assert answer["results"] == [
        {"contact_id": mine, "status": "done"},
        {"contact_id": foreign, "status": "not_found"},
    ]
    assert api.get(f"/v1/contacts/{foreign}", as_="beta_owner").json()["blocked"] is False


@pytest.mark.parametrize(
    "body",
    [
        {"action": "block"},
        {"action": "block", "contact_ids": ["ctc_a"], "filter": {}},
        {"action": "tag", "contact_ids": ["ctc_a"]},
        {"action": "block", "tag_id": "tag_a", "contact_ids": ["ctc_a"]},
        {"action": "block", "contact_ids": ["ctc_a"], "cursor": "abc"},
        {"action": "block", "contact_ids": []},
        {"action": "archive", "contact_ids": ["ctc_a"]},
    ],
)
def test_malformed_bulk_requests_are_422(api: ApiClient, body: dict[str, Any]) -> None:
    reply = api.post("/v1/contacts/bulk", body)
    assert reply.status == 422, reply.text


def test_an_unknown_tag_is_404_before_anything_changes(api: ApiClient) -> None:
    contact = _create(api, "Intacta")
    reply = api.post("/v1/contacts/bulk", {"action": "tag", "tag_id": "tag_nope", "contact_ids": [contact]})
    assert reply.status == 404
    assert reply.json()["error"]["code"] == "not_found"
