"""An open conversation: WhatsApp media opens from our stored copy, the customer's name is whole in
the header at every width without the page scrolling sideways, and any teammate can be assigned."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import Page, expect

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
