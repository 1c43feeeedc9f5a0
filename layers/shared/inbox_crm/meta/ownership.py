"""Proof that an access token can act for a Meta account, asked of the Graph API before the account
joins a workspace (the id alone proves nothing: anyone can type a Page id).

* Messenger: ``GET /{page-id}?fields=id,name,access_token`` with the token — Meta answers the Page's
  token only to someone with a task on the Page; that Page token is what we keep.
* Instagram: ``debug_token`` — the account is among the token's ``instagram_manage_messages`` targets.
* WhatsApp: ``debug_token`` — a WABA among the token's ``whatsapp_business_messaging`` targets lists
  the number in ``GET /{waba-id}/phone_numbers``.

Any refusal (invalid token 190, unknown object 100, no permission 10/200, an answer about another
object) is the same ``NotProven``; only a Meta outage is told apart, so the caller can retry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inbox_crm.core.secrets import meta_app_secrets
from inbox_crm.core.settings import get_settings
from inbox_crm.meta.graph import Graph, GraphClient, GraphError

_INSTAGRAM_SCOPES = ("instagram_manage_messages", "instagram_business_manage_messages")
_WHATSAPP_SCOPES = ("whatsapp_business_messaging",)


class NotProven(Exception):
    """Meta did not confirm that the token can act for the account."""


class MetaUnavailable(Exception):
    """Meta could not be asked (outage, rate limit): nothing is known either way."""


@dataclass(frozen=True)
class Proof:
    token: str  # the token to keep for the account (a Page token for a Page)
    name: str | None  # the account's name as Meta knows it, when it says


def prove(platform: str, account_id: str, token: str, client: Graph | None = None) -> Proof:
    client = client or GraphClient.from_settings()
    try:
        if platform == "messenger":
            return _prove_page(client, account_id, token)
        targets = _granted_targets(client, token)
        if platform == "instagram":
            if any(account_id in targets.get(scope, ()) for scope in _INSTAGRAM_SCOPES):
                return Proof(token, None)
            raise NotProven
        if platform == "whatsapp":
            wabas = [waba for scope in _WHATSAPP_SCOPES for waba in targets.get(scope, ())]
            for waba in dict.fromkeys(wabas):
                numbers = client.request("GET", f"{waba}/phone_numbers", token, max_attempts=1)
                if any(str(n.get("id")) == account_id for n in numbers.get("data") or []):
                    return Proof(token, None)
            raise NotProven
    except GraphError as error:
        if error.retryable:
            raise MetaUnavailable(str(error)) from None
        raise NotProven from None
    raise NotProven


def _prove_page(client: Graph, page_id: str, token: str) -> Proof:
    page = client.request("GET", page_id, token, params={"fields": "id,name,access_token"}, max_attempts=1)
    page_token = page.get("access_token")
    if str(page.get("id")) != page_id or not isinstance(page_token, str) or not page_token:
        raise NotProven
    return Proof(page_token, page.get("name"))


def _granted_targets(client: Graph, token: str) -> dict[str, list[str]]:
    """debug_token's granular scopes: scope -> the object ids granted (an invalid token: NotProven)."""
    settings = get_settings()
    secrets = meta_app_secrets()
    if not settings.meta_app_id or not secrets:
        raise MetaUnavailable("META_APP_ID and the app secret are needed to ask Meta about a token")
    app_token = f"{settings.meta_app_id}|{secrets[0]}"
    answer: dict[str, Any] = client.request(
        "GET", "debug_token", app_token, params={"input_token": token}, max_attempts=1
    )
    data = answer.get("data") or {}
    if not data.get("is_valid"):
        raise NotProven
    return {
        str(item.get("scope")): [str(target) for target in item.get("target_ids") or []]
        for item in data.get("granular_scopes") or []
    }
