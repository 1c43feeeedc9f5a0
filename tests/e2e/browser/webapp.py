"""Helpers for the browser tests: webhooks built from the samples in events/ (fresh ids and times, so
every test has its own sender at the top of the inbox), signed like `inbox-local replay`, and the
waits and page actions the tests share."""

from __future__ import annotations

import copy
import json
import secrets
import string
import time
import uuid
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, TypeVar

import requests
from playwright.sync_api import Locator, Page, expect

from e2e.local_stack_support import E2E_APP_SECRET, LocalStackClient
from inbox_local.replay import signature, webhook_body
from inbox_local.template import PROJECT_ROOT

EVENTS = PROJECT_ROOT / "events"
API_WAIT_SECONDS = 20
T = TypeVar("T")
ROLE_LABELS = {"owner": "Propietario", "manager": "Gerente", "agent": "Agente"}


@cache
def _sample(path: str) -> dict[str, Any]:
    return json.loads((EVENTS / path).read_text(encoding="utf-8"))


def sample(path: str) -> dict[str, Any]:
    return copy.deepcopy(_sample(path))


def unique_digits(count: int) -> str:
    return "".join(secrets.choice(string.digits) for _ in range(count))


def unique_letters(count: int = 6) -> str:
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(count))


SAMPLE_PSID = "7000000000000001"
SAMPLE_MID_PREFIX = "m_AG5Hz2Uq7tuwNEhXfYYKj8mJEM_QPpz5jdCK48PnKAjSdjfipqxqMvK8ma6AC8fplwlqLP_5cgXIbu"
SAMPLE_TIME_MS = 1781539200000  # the Messenger samples sit just after this instant


def rebased(path: str, psid: str, mid_prefix: str, now_ms: int) -> dict[str, Any]:
    """A Messenger sample from another customer (psid), with its message ids under mid_prefix (so a
    set of samples still refer to each other: edits, reactions) and its times moved to now_ms."""
    text = json.dumps(_sample(path)).replace(SAMPLE_PSID, psid).replace(SAMPLE_MID_PREFIX, mid_prefix)

    def shift(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: value + now_ms - SAMPLE_TIME_MS
                if key in {"time", "timestamp", "watermark"} and isinstance(value, int)
                else shift(value)
                for key, value in node.items()
            }
        return [shift(item) for item in node] if isinstance(node, list) else node

    return shift(json.loads(text))


def messenger_text(psid: str, text: str) -> dict[str, Any]:
    """events/messenger/text.json from another customer, now, with this text."""
    document = sample("messenger/text.json")
    now_ms = int(time.time() * 1000)
    entry = document["entry"][0]
    entry["time"] = now_ms
    event = entry["messaging"][0]
    event["sender"]["id"] = psid
    event["timestamp"] = now_ms
    event["message"] = {"mid": f"m_e2e_{uuid.uuid4().hex}", "text": text}
    return document


def whatsapp_text(wa_id: str, name: str, text: str) -> dict[str, Any]:
    """events/whatsapp/text_with_profile.json from another number, now, with this name and text."""
    document = sample("whatsapp/text_with_profile.json")
    value = document["entry"][0]["changes"][0]["value"]
    user_id = f"MX.{unique_digits(19)}"
    value["contacts"] = [{"profile": {"name": name}, "wa_id": wa_id, "user_id": user_id}]
    message = value["messages"][0]
    message.update(
        {
            "from": wa_id,
            "from_user_id": user_id,
            "id": f"wamid.E2E{uuid.uuid4().hex.upper()}",
            "timestamp": str(int(time.time())),
            "text": {"body": text},
        }
    )
    return document


def messenger_batch(psids: list[str], text: str) -> dict[str, Any]:
    """One Messenger delivery with a message from each psid (Meta batches entries): many
    conversations at once, the last psid newest."""
    document = sample("messenger/text.json")
    template = document["entry"][0]
    now_ms = int(time.time() * 1000) - len(psids)
    entries = []
    for index, psid in enumerate(psids):
        entry = copy.deepcopy(template)
        entry["time"] = now_ms + index
        event = entry["messaging"][0]
        event["sender"]["id"] = psid
        event["timestamp"] = now_ms + index
        event["message"] = {"mid": f"m_e2e_{uuid.uuid4().hex}", "text": f"{text} {index + 1}"}
        entries.append(entry)
    document["entry"] = entries
    return document


def whatsapp_media(wa_id: str, name: str, path: str = "whatsapp/document.json") -> dict[str, Any]:
    """A WhatsApp media sample (a media id, no URL) from another number, now."""
    document = sample(path)
    value = document["entry"][0]["changes"][0]["value"]
    user_id = f"MX.{unique_digits(19)}"
    value["contacts"] = [{"profile": {"name": name}, "wa_id": wa_id, "user_id": user_id}]
    value["messages"][0].update(
        {
            "from": wa_id,
            "from_user_id": user_id,
            "id": f"wamid.E2E{uuid.uuid4().hex.upper()}",
            "timestamp": str(int(time.time())),
        }
    )
    return document


def post_webhook(stack: LocalStackClient, document: dict[str, Any]) -> None:
    """What `inbox-local replay` does: Meta's serialisation, signed with the app secret."""
    body = webhook_body(document)
    response = requests.post(
        f"{stack.url}/webhooks/meta",
        data=body,
        headers={
            "Content-Type": "application/json",
            "X-Hub-Signature-256": signature(body, E2E_APP_SECRET),
            "User-Agent": "facebookexternalua",
        },
        timeout=30,
    )
    assert response.status_code == 200, response.text


def set_profile(stack: LocalStackClient, psid: str, first_name: str, last_name: str) -> None:
    """The name the Graph stand-in answers for this PSID (enrichment names the conversation)."""
    profile = {"first_name": first_name, "last_name": last_name, "name": f"{first_name} {last_name}"}
    response = requests.post(f"{stack.graph_url}/_control/profiles", json={psid: profile}, timeout=10)
    assert response.status_code == 200, response.text


def wait_until(probe: Callable[[], T | None], what: str, seconds: float = API_WAIT_SECONDS) -> T:
    """Polls the API (not the page) until probe answers something: webhooks are processed
    asynchronously (queue, ingestion, then profile enrichment)."""
    deadline = time.monotonic() + seconds
    while True:
        found = probe()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def wait_for_conversation(
    stack: LocalStackClient, matches: Callable[[dict[str, Any]], bool], what: str
) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        response = stack.call("GET", "/v1/conversations", role="agent", params={"limit": 100})
        assert response.status_code == 200, response.text
        return next((item for item in response.json()["items"] if matches(item)), None)

    return wait_until(probe, what)


def messenger_conversation(stack: LocalStackClient, first: str, last: str, text: str) -> tuple[str, dict]:
    """A new Messenger sender named first + last who wrote text; (psid, conversation)."""
    psid = "79" + unique_digits(14)
    set_profile(stack, psid, first, last)
    post_webhook(stack, messenger_text(psid, text))
    conversation = wait_for_conversation(
        stack,
        lambda item: item["handle"] == psid and item["display_name"] == f"{first} {last}",
        f"the Messenger conversation of {psid}",
    )
    return psid, conversation


def api_json(response: requests.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


# ------------------------------------------------------------------ page actions


def login(page: Page, stack: LocalStackClient, role: str = "agent") -> None:
    page.goto(f"{stack.url}/")
    page.get_by_role("button", name=f"Entrar como demo: {ROLE_LABELS[role]}").click()
    expect(page.get_by_role("heading", name="Bandeja de entrada")).to_be_visible()


def poll_now(page: Page) -> None:
    """The app polls every few seconds and on focus: focus makes a test independent of the period."""
    page.evaluate("window.dispatchEvent(new Event('focus'))")


def inbox_item(page: Page, conversation_id: str) -> Locator:
    return page.locator(f'.conv-item[data-conversation-id="{conversation_id}"]')


def open_conversation(page: Page, conversation_id: str) -> None:
    inbox_item(page, conversation_id).get_by_role("link").click()
    expect(page).to_have_url(f"{page.url.split('/app/')[0]}/app/inbox/{conversation_id}")


def contact_panel(page: Page) -> Locator:
    return page.locator("#contact-pane")


def shoot(page: Page, directory: Path, name: str) -> None:
    page.screenshot(path=str(directory / f"{name}.png"), animations="disabled")
