"""Channel accounts are proven, not claimed: an account joins a workspace only with a token that Meta
(the Graph stand-in, answering like Meta) confirms can act for it; a refusal tells nothing about
other workspaces; the token is kept server-side for the channel and never returned or logged."""

from __future__ import annotations

import logging
from typing import Any

import pytest
import requests

from inbox_crm.core import secrets
from inbox_local.graph_standin import GraphStandIn
from support.api import ApiClient, Reply
from support.fixtures import IG_TOKEN, PAGE_TOKEN, TEST_WABA, WA_TOKEN
from support.units import IG_ACCOUNT, PAGE, WA_NUMBER


def connect(api: ApiClient, platform: str, account_id: str, token: str, as_: str = "alpha_owner") -> Reply:
    body = {"platform": platform, "account_id": account_id, "name": "Cuenta", "access_token": token}
    return api.post("/v1/channels", body, as_=as_)


def channels_of(api: ApiClient, as_: str) -> list[str]:
    return [c["account_id"] for c in api.get("/v1/channels", as_=as_).json()["items"]]


@pytest.mark.parametrize(
    ("platform", "account_id", "token"),
    [("messenger", PAGE, PAGE_TOKEN), ("instagram", IG_ACCOUNT, IG_TOKEN), ("whatsapp", WA_NUMBER, WA_TOKEN)],
)
def test_a_token_meta_confirms_connects_the_account_and_is_kept_unseen(
    api: ApiClient,
    meta: GraphStandIn,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    platform: str,
    account_id: str,
    token: str,
) -> None:
    caplog.set_level(logging.INFO)
    reply = connect(api, platform, account_id, token)
    assert reply.status == 201, reply.text
    assert token not in reply.text
    assert channels_of(api, "alpha_agent") == [account_id]
    # Kept for the account's sends, in its own secret; never echoed or logged.
    assert secrets.page_token(account_id) == token
    assert token not in api.get("/v1/channels").text
    logged = capsys.readouterr()
    assert token not in caplog.text + logged.out + logged.err


@pytest.mark.parametrize(
    ("platform", "account_id", "token"),
    [
        ("messenger", PAGE, "a-token-meta-never-issued"),  # 190
        ("messenger", "100200300999", PAGE_TOKEN),  # a Page Meta does not know: 100
        ("messenger", PAGE, IG_TOKEN),  # a real token, for another account: 10
        ("instagram", IG_ACCOUNT, PAGE_TOKEN),  # no instagram scope on that account
        ("whatsapp", "100000000000777", WA_TOKEN),  # a number outside the token's WABA
        ("whatsapp", WA_NUMBER, "a-token-meta-never-issued"),  # debug_token: not valid
    ],
)
def test_an_account_meta_does_not_confirm_is_refused(
    api: ApiClient, meta: GraphStandIn, platform: str, account_id: str, token: str
) -> None:
    reply = connect(api, platform, account_id, token)
    assert reply.status == 403, reply.text
    assert reply.json()["error"]["code"] == "channel_not_verified"
    assert channels_of(api, "alpha_owner") == []


def test_a_removed_page_cannot_be_taken_by_another_workspace_without_its_token(
    api: ApiClient, meta: GraphStandIn
) -> None:
    # The reported hijack: the owner removed the Page, another workspace registered it by id.
    channel_id = connect(api, "messenger", PAGE, PAGE_TOKEN).json()["id"]
    assert api.delete(f"/v1/channels/{channel_id}").status == 204
    assert secrets.page_token(PAGE) is None  # a removed channel's token is not kept
    meta.grant("beta-token", "messenger", "100200300888", "Beta FB")
    taken = connect(api, "messenger", PAGE, "beta-token", as_="beta_owner")
    assert taken.status == 403
    assert taken.json()["error"]["code"] == "channel_not_verified"
    assert channels_of(api, "beta_owner") == []


def test_the_refusal_is_the_same_whether_or_not_another_workspace_has_the_account(
    api: ApiClient, meta: GraphStandIn
) -> None:
    meta.grant("beta-token", "messenger", "100200300888", "Beta FB")
    before = connect(api, "messenger", PAGE, "beta-token", as_="beta_owner")
    assert connect(api, "messenger", PAGE, PAGE_TOKEN).status == 201
    after = connect(api, "messenger", PAGE, "beta-token", as_="beta_owner")
    assert (before.status, before.json()) == (after.status, after.json())


def test_a_proven_account_connected_elsewhere_is_refused_without_naming_the_workspace(
    api: ApiClient, meta: GraphStandIn
) -> None:
    assert connect(api, "messenger", PAGE, PAGE_TOKEN).status == 201
    reply = connect(api, "messenger", PAGE, PAGE_TOKEN, as_="beta_owner")
    assert reply.status == 409
    assert reply.json()["error"] == {
        "code": "channel_unavailable",
        "message": "This account cannot be connected to this workspace",
        "details": None,
    }
    assert secrets.page_token(PAGE) == PAGE_TOKEN  # the loser writes no token


def test_meta_unreachable_is_a_503_and_connects_nothing(api: ApiClient, meta: GraphStandIn) -> None:
    meta.fail(status=500, error={"code": 2, "message": "An unexpected error has occurred."}, times=1)
    reply = connect(api, "messenger", PAGE, PAGE_TOKEN)
    assert reply.status == 503
    assert reply.json()["error"]["code"] == "unavailable"
    assert channels_of(api, "alpha_owner") == []


def _graph(meta: GraphStandIn, path: str, token: str | None, **params: str) -> tuple[int, dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    reply = requests.get(f"{meta.url}/v25.0/{path}", params=params, headers=headers, timeout=5)
    return reply.status_code, reply.json()


def test_the_stand_in_answers_ownership_questions_like_meta(meta: GraphStandIn) -> None:
    status, page = _graph(meta, PAGE, PAGE_TOKEN, fields="id,name,access_token")
    assert (status, page) == (200, {"id": PAGE, "name": "Alpha FB", "access_token": PAGE_TOKEN})
    status, body = _graph(meta, PAGE, "unknown", fields="id,name,access_token")
    assert (status, body["error"]["code"], body["error"]["type"]) == (400, 190, "OAuthException")
    status, body = _graph(meta, "999", PAGE_TOKEN, fields="id,name,access_token")
    assert (status, body["error"]["code"], body["error"]["error_subcode"]) == (400, 100, 33)
    status, body = _graph(meta, PAGE, WA_TOKEN, fields="id,name,access_token")
    assert (status, body["error"]["code"]) == (400, 10)
    status, debug = _graph(meta, "debug_token", "app|secret", input_token=WA_TOKEN)
    assert status == 200
    assert {"scope": "whatsapp_business_messaging", "target_ids": [TEST_WABA]} in debug["data"][
        "granular_scopes"
    ]
    status, debug = _graph(meta, "debug_token", "app|secret", input_token="unknown")
    assert debug["data"]["is_valid"] is False
    assert debug["data"]["error"]["code"] == 190
    status, numbers = _graph(meta, f"{TEST_WABA}/phone_numbers", WA_TOKEN)
    assert [n["id"] for n in numbers["data"]] == [WA_NUMBER]
    # Grants are controlled over HTTP too, as the e2e tests and `make run` use them.
    added = requests.post(
        f"{meta.url}/_control/grants",
        json={"token": "t2", "platform": "instagram", "account_id": "17841400000000999"},
        timeout=5,
    )
    assert added.status_code == 200
    assert _graph(meta, "17841400000000999", "t2", fields="id,username")[0] == 200
