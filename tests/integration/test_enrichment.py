"""Profile enrichment runs after the message is stored; its failures never touch the message."""

from __future__ import annotations

from typing import Any

import pytest

from inbox_crm.identity.enrichment import enrich_identity
from inbox_crm.ingest.ids import identity_id_for
from inbox_crm.ingest.pipeline import ingest
from inbox_crm.meta.graph import GraphError
from inbox_crm.ports import SecretsTokens, use_ports
from inbox_crm.store.models import Conversation, Identity, InboxItem, Message
from inbox_crm.workspaces import channels
from inbox_local.graph_standin import GraphStandIn
from support.units import IG_ACCOUNT, PAGE, WA_NUMBER, unit
from support.world import World


@pytest.fixture
def inbox(world: World, graph: GraphStandIn) -> World:
    channels.register_channel("ws_alpha", "messenger", PAGE, "Alpha FB", "usr_alpha_owner")
    channels.register_channel("ws_alpha", "instagram", IG_ACCOUNT, "Alpha IG", "usr_alpha_owner")
    channels.register_channel("ws_alpha", "whatsapp", WA_NUMBER, "Alpha WA", "usr_alpha_owner")
    return world


def _identity(platform: str, account: str, customer: str) -> Identity:
    return Identity.get(*Identity.key("ws_alpha", identity_id_for(platform, account, customer)))


def _conversation() -> Conversation:
    [conversation] = [item for item in InboxItem.scan() if isinstance(item, Conversation)]
    return conversation


def test_messenger_profile_fills_the_identity_and_the_inbox(inbox: World, graph: GraphStandIn) -> None:
    graph.set_profiles({"7000000000000001": {"first_name": "María", "last_name": "Pérez"}})
    result = ingest(unit(text="hola"))
    [created] = [event for event in result.events if event.name == "IdentityCreated"]
    assert enrich_identity("ws_alpha", created.data["identity_id"]) == "fetched"
    identity = _identity("messenger", PAGE, "7000000000000001")
    assert (identity.first_name, identity.last_name, identity.display_name) == (
        "María",
        "Pérez",
        "María Pérez",
    )
    assert _conversation().display_name == "María Pérez"
    [request] = [r for r in graph.requests() if r["method"] == "GET"]
    assert "first_name" in request["query"]["fields"]
    # already fetched: no second call
    assert enrich_identity("ws_alpha", identity.identity_id) == "fetched"
    assert len([r for r in graph.requests() if r["method"] == "GET"]) == 1


def test_instagram_username_becomes_the_handle(inbox: World, graph: GraphStandIn) -> None:
    graph.set_profiles({"8000000000000001": {"name": "Ana", "username": "ana.compras"}})
    ingest(unit(platform="instagram", account_id=IG_ACCOUNT, customer_id="8000000000000001", text="hola"))
    identity = _identity("instagram", IG_ACCOUNT, "8000000000000001")
    assert enrich_identity("ws_alpha", identity.identity_id) == "fetched"
    assert _identity("instagram", IG_ACCOUNT, "8000000000000001").username == "ana.compras"
    assert _conversation().handle == "@ana.compras"


@pytest.mark.parametrize(
    ("platform", "account", "customer", "error"),
    [
        ("instagram", IG_ACCOUNT, "8000000000000002", {"code": 230, "message": "User consent is required"}),
        (
            "messenger",
            PAGE,
            "7000000000000002",
            {"code": 100, "error_subcode": 2018218, "message": "No profile"},
        ),
    ],
)
def test_expected_unavailable_profiles_are_recorded_not_retried(
    inbox: World, graph: GraphStandIn, platform: str, account: str, customer: str, error: dict
) -> None:
    ingest(unit(platform=platform, account_id=account, customer_id=customer, text="hola"))
    graph.fail(status=400, error=error, method="GET")
    identity = _identity(platform, account, customer)
    assert enrich_identity("ws_alpha", identity.identity_id) == "unavailable"
    assert _identity(platform, account, customer).profile_status == "unavailable"
    [message] = [item for item in InboxItem.scan() if isinstance(item, Message)]
    assert message.text == "hola"


def test_a_transient_failure_is_raised_for_the_event_retry_and_the_message_stays(
    inbox: World, graph: GraphStandIn
) -> None:
    ingest(unit(text="sigo aquí"))
    graph.fail(status=503, error={"code": 2, "message": "temporarily unavailable"}, method="GET")
    identity = _identity("messenger", PAGE, "7000000000000001")
    with pytest.raises(GraphError):
        enrich_identity("ws_alpha", identity.identity_id)
    assert _identity("messenger", PAGE, "7000000000000001").profile_status == "failed"
    assert enrich_identity("ws_alpha", identity.identity_id) == "fetched"  # the retry succeeds
    [message] = [item for item in InboxItem.scan() if isinstance(item, Message)]
    assert message.text == "sigo aquí"


def test_a_timeout_is_a_transient_failure(inbox: World, graph: GraphStandIn) -> None:
    from inbox_crm.meta.graph import GraphClient

    ingest(unit(text="hola"))
    unreachable = GraphClient(base_url="http://127.0.0.1:9", version="v25.0", timeout_seconds=0.2)
    identity = _identity("messenger", PAGE, "7000000000000001")
    with pytest.raises(GraphError) as raised:
        enrich_identity("ws_alpha", identity.identity_id, client=unreachable)
    assert raised.value.retryable


def test_whatsapp_has_no_profile_api(inbox: World, graph: GraphStandIn) -> None:
    ingest(unit(platform="whatsapp", account_id=WA_NUMBER, customer_id="5215512340001", customer_name="Lu"))
    identity = _identity("whatsapp", WA_NUMBER, "5215512340001")
    assert enrich_identity("ws_alpha", identity.identity_id) == "not_applicable"
    assert graph.requests() == []
    assert identity.display_name == "Lu"


def test_the_profile_is_asked_through_the_ports(inbox: World, graph: GraphStandIn) -> None:
    ingest(unit(text="hola"))
    asked: list[tuple[str, str, str | None]] = []

    class Profiles:
        def request(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
            raise AssertionError("not used")

        def download(self, url: str, token: str | None, max_bytes: int = 0) -> tuple[bytes, str]:
            raise AssertionError("not used")

        def get_profile(self, platform: str, user_id: str, token: str | None) -> dict[str, Any]:
            asked.append((platform, user_id, token))
            return {"first_name": "Lu", "last_name": "Paz"}

    class Tokens(SecretsTokens):
        def page_token(self, account_id: str) -> str | None:
            return f"kept-for-{account_id}"

    identity = _identity("messenger", PAGE, "7000000000000001")
    with use_ports(graph=Profiles, tokens=Tokens()):
        assert enrich_identity("ws_alpha", identity.identity_id) == "fetched"
    assert asked == [("messenger", "7000000000000001", f"kept-for-{PAGE}")]
    assert graph.requests() == []  # the real client was never built
    assert _identity("messenger", PAGE, "7000000000000001").display_name == "Lu Paz"
