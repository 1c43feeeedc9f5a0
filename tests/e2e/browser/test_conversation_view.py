"""An open conversation: WhatsApp media opens from our stored copy, the customer's name is whole in
the header at every width without the page scrolling sideways, and any teammate can be assigned."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import Browser, Page, expect

from e2e.browser.webapp import (
    api_json,
    login,
    messenger_conversation,
    open_conversation,
    post_webhook,
    unique_digits,
    unique_letters,
    wait_for_conversation,
    wait_until,
    whatsapp_media,
)
from e2e.local_stack_support import LocalStackClient

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_whatsapp_media_opens_from_the_api_s_download_url(page: Page, local_stack: LocalStackClient) -> None:
    wa_id = "52155" + unique_digits(8)
    post_webhook(local_stack, whatsapp_media(wa_id, f"Rocío {unique_letters()}"))
    conversation = wait_for_conversation(
        local_stack, lambda item: item["handle"] == f"+{wa_id}", "the WhatsApp chat"
    )

    def stored() -> str | None:
        messages = api_json(
            local_stack.call("GET", f"/v1/conversations/{conversation['id']}/messages", role="agent")
        )["items"]
        return messages[0]["attachments"][0].get("download_url") if messages else None

    wait_until(stored, "the media to be stored")
    login(page, local_stack)
    open_conversation(page, conversation["id"])

    link = page.locator('.attachment[data-type="document"] a')
    expect(link).to_have_text("constancia_situación_fiscal.pdf")
    expect(page.locator(".attachment")).not_to_contain_text("no se puede descargar")
    href = link.get_attribute("href")
    assert href
    assert href.startswith(local_stack.aws_url)
    download = requests.get(href, timeout=10)
    assert download.status_code == 200
    assert download.content


@pytest.mark.parametrize("width", [390, 768, 1024, 1280, 1440])
def test_the_customer_s_name_is_whole_and_nothing_scrolls_sideways(
    page: Page, local_stack: LocalStackClient, width: int
) -> None:
    name = ("Lucía", f"Santamaría{unique_letters(4)}")
    _, conversation = messenger_conversation(local_stack, *name, "¿Me confirma la dirección de entrega?")
    page.set_viewport_size({"width": width, "height": 900 if width > 800 else 844})
    login(page, local_stack)
    page.goto(f"{local_stack.url}/app/inbox/{conversation['id']}")

    title = page.locator("#conversation-title")
    expect(title).to_be_visible()
    expect(title).to_have_text(" ".join(name))
    assert title.evaluate("e => e.scrollWidth <= e.clientWidth"), "the name is cut"
    expect(page.locator(".msg.in")).to_have_count(1)
    assert page.evaluate("document.scrollingElement.scrollWidth <= innerWidth"), "the page scrolls sideways"


def test_a_conversation_can_be_assigned_to_any_teammate(page: Page, local_stack: LocalStackClient) -> None:
    _, conversation = messenger_conversation(local_stack, "Nora", f"Ríos{unique_letters()}", "Hola")
    members = api_json(local_stack.call("GET", "/v1/members", role="agent"))["items"]
    manager = next(member for member in members if member["role"] == "manager")
    login(page, local_stack, "agent")
    open_conversation(page, conversation["id"])

    actions = page.locator(".header-actions")
    expect(actions.locator(".assignee")).to_have_text("Sin asignar")
    actions.get_by_label("Asignar a…").select_option(label=f"{manager['name']} · Gerente")

    expect(actions.locator(".assignee")).to_have_text(f"Asignada a {manager['name']}")
    now = api_json(local_stack.call("GET", f"/v1/conversations/{conversation['id']}", role="agent"))
    assert now["assignee_id"] == manager["id"]


def test_a_merge_can_be_undone_from_the_contact_after_leaving_it(
    page: Page, browser: Browser, local_stack: LocalStackClient
) -> None:
    _, conversation = messenger_conversation(local_stack, "Elsa", f"Paz{unique_letters()}", "Soy Elsa")
    _, elsewhere = messenger_conversation(local_stack, "Otto", f"Ruiz{unique_letters()}", "Hola")
    email = f"elsa.{unique_letters(8)}@example.com"

    def contact(first: str, last: str) -> dict:
        body = {"first_name": first, "last_name": last, "emails": [email], "consent": {"given": True}}
        return api_json(local_stack.call("POST", "/v1/contacts", role="agent", json=body), 201)

    mine = contact("Elsa", "Paz")
    link = f"/v1/conversations/{conversation['id']}/contact"
    api_json(local_stack.call("POST", link, role="agent", json={"contact_id": mine["id"]}))
    contact("Elsita", f"Paz{unique_letters()}")
    suggestions = f"/v1/contacts/{mine['id']}/merge-suggestions"
    wait_until(lambda: api_json(local_stack.call("GET", suggestions, role="agent"))["items"], "a suggestion")

    login(page, local_stack, "agent")
    open_conversation(page, conversation["id"])
    card = page.locator("#contact-pane .merge-card")
    card.get_by_role("button", name="Fusionar").click()
    expect(card.locator(".merge-done")).to_have_text("Fusión realizada")

    open_conversation(page, elsewhere["id"])  # the agent leaves the contact…
    expect(page.locator("#conversation-title")).to_have_text(elsewhere["display_name"])
    open_conversation(page, conversation["id"])  # …and comes back: the undo is still there
    expect(card.get_by_role("button", name="Deshacer fusión")).to_be_visible()

    # An owner, in another browser, finds it from the merge history.
    other = browser.new_context(viewport={"width": 1440, "height": 900}, locale="es-MX")
    try:
        owner = other.new_page()
        login(owner, local_stack, "owner")
        owner.goto(f"{local_stack.url}/app/inbox/{conversation['id']}")
        owner_card = owner.locator("#contact-pane .merge-card")
        owner_card.get_by_role("button", name="Deshacer fusión").click()
        expect(owner_card.locator(".merge-done")).to_have_count(0)
    finally:
        other.close()
    merges = api_json(local_stack.call("GET", "/v1/merges", role="owner"))["items"]
    assert next(item for item in merges if item["survivor_id"] == mine["id"])["status"] == "undone"
