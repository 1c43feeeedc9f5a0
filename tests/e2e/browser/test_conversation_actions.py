"""The conversation's own actions in the browser: opening it marks it read, the header closes /
reopens it and assigns it to the signed-in agent (or unassigns it)."""

from __future__ import annotations

import base64
import json

import pytest
from playwright.sync_api import Page, expect

from e2e.browser.webapp import (
    api_json,
    inbox_item,
    login,
    messenger_conversation,
    open_conversation,
    unique_letters,
    wait_until,
)
from e2e.local_stack_support import LocalStackClient

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def conversation_now(stack: LocalStackClient, conversation_id: str) -> dict:
    return api_json(stack.call("GET", f"/v1/conversations/{conversation_id}", role="agent"))


def test_opening_a_conversation_marks_it_read(page: Page, local_stack: LocalStackClient) -> None:
    _, conversation = messenger_conversation(
        local_stack, "Nora", f"Leal{unique_letters()}", "¿Tienen talla M?"
    )
    assert conversation["unread_count"] > 0
    login(page, local_stack)
    badge = inbox_item(page, conversation["id"]).locator(".badge")
    expect(badge).to_be_visible()

    open_conversation(page, conversation["id"])

    expect(page.locator(".msg.in .msg-text")).to_have_text(["¿Tienen talla M?"])
    expect(badge).to_have_count(0)
    wait_until(
        lambda: conversation_now(local_stack, conversation["id"])["unread_count"] == 0, "the read mark"
    )


def test_header_closes_and_reopens_the_conversation(page: Page, local_stack: LocalStackClient) -> None:
    _, conversation = messenger_conversation(local_stack, "Olga", f"Mena{unique_letters()}", "Gracias")
    login(page, local_stack)
    open_conversation(page, conversation["id"])
    header = page.locator(".conversation-header")

    header.get_by_role("button", name="Cerrar conversación").click()

    expect(page.locator("#conversation-subtitle .pill")).to_have_text("Cerrada")
    expect(inbox_item(page, conversation["id"])).to_have_class("conv-item closed")
    assert conversation_now(local_stack, conversation["id"])["status"] == "closed"

    header.get_by_role("button", name="Reabrir").click()

    expect(header.get_by_role("button", name="Cerrar conversación")).to_be_visible()
    expect(page.locator("#conversation-subtitle .pill")).to_have_count(0)
    assert conversation_now(local_stack, conversation["id"])["status"] == "open"


def test_header_assigns_the_conversation_to_me_and_unassigns_it(
    page: Page, local_stack: LocalStackClient
) -> None:
    _, conversation = messenger_conversation(local_stack, "Pía", f"Rojas{unique_letters()}", "Hola")
    me = api_json(local_stack.call("GET", "/v1/me", role="agent"))
    login(page, local_stack)
    open_conversation(page, conversation["id"])
    actions = page.locator(".header-actions")
    expect(actions.locator(".assignee")).to_have_text("Sin asignar")

    actions.get_by_role("button", name="Asignarme").click()

    expect(actions.locator(".assignee")).to_have_text("Asignada a ti")
    assert conversation_now(local_stack, conversation["id"])["assignee_id"] == me["user"]["id"]

    actions.get_by_role("button", name="Desasignar").click()

    expect(actions.locator(".assignee")).to_have_text("Sin asignar")
    expect(actions.get_by_role("button", name="Asignarme")).to_be_visible()
    assert conversation_now(local_stack, conversation["id"])["assignee_id"] is None


# The smallest valid PNG: one transparent pixel.
PIXEL_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


def test_composer_uploads_and_sends_an_attachment(page: Page, local_stack: LocalStackClient) -> None:
    _, conversation = messenger_conversation(
        local_stack, "Rita", f"Soto{unique_letters()}", "¿Me mandas foto?"
    )
    login(page, local_stack)
    open_conversation(page, conversation["id"])
    page.get_by_role("textbox", name="Escribe una respuesta").fill("Aquí está 📷")

    with page.expect_file_chooser() as chooser:
        page.get_by_role("button", name="Adjuntar archivo").click()
    with (
        page.expect_response(lambda r: r.url.endswith("/v1/uploads")) as uploaded,
        page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/messages")) as sent,
    ):
        chooser.value.set_files(files=[{"name": "blusa.png", "mimeType": "image/png", "buffer": PIXEL_PNG}])

    upload = uploaded.value.json()
    assert uploaded.value.status == 201
    assert (upload["type"], upload["filename"], upload["size"]) == ("image", "blusa.png", len(PIXEL_PNG))
    body = json.loads(sent.value.post_data or "{}")
    assert body == {"text": "Aquí está 📷", "attachments": [{"type": "image", "url": upload["url"]}]}
    expect(page.locator(".msg.out").filter(has_text="Aquí está 📷")).to_have_count(1)
    expect(page.get_by_role("textbox", name="Escribe una respuesta")).to_have_value("")


def test_contact_panel_merges_a_possible_duplicate_and_undoes_it(
    page: Page, local_stack: LocalStackClient
) -> None:
    _, conversation = messenger_conversation(local_stack, "Sara", f"Gil{unique_letters()}", "Soy Sara")
    email = f"sara.{unique_letters(8)}@example.com"

    def contact(first: str, last: str, emails: list[str]) -> dict:
        body = {"first_name": first, "last_name": last, "emails": emails, "consent": {"given": True}}
        return api_json(local_stack.call("POST", "/v1/contacts", role="agent", json=body), 201)

    mine = contact("Sara", "Gil", [email])
    link = f"/v1/conversations/{conversation['id']}/contact"
    api_json(local_stack.call("POST", link, role="agent", json={"contact_id": mine["id"]}))
    duplicate = contact("Sarita", f"Gil{unique_letters()}", [email, f"otro.{unique_letters(8)}@example.com"])
    suggestions = f"/v1/contacts/{mine['id']}/merge-suggestions"
    wait_until(
        lambda: api_json(local_stack.call("GET", suggestions, role="agent"))["items"], "the suggestion"
    )
    login(page, local_stack)
    open_conversation(page, conversation["id"])

    card = page.locator("#contact-pane .merge-card")
    expect(card.get_by_role("heading", name="Posibles duplicados")).to_be_visible()
    item = card.locator(".merge-item")
    expect(item.locator(".contact-name")).to_have_text(f"Sarita {duplicate['last_name']}")
    expect(item.locator("mark.shared")).to_have_text([email])
    expect(item.locator(".merge-values li")).to_have_count(2)

    item.get_by_role("button", name="Fusionar").click()

    expect(card.locator(".merge-done")).to_have_text("Fusión realizada")
    expect(card.locator(".merge-item")).to_have_count(0)
    merged = api_json(local_stack.call("GET", f"/v1/contacts/{mine['id']}", role="agent"))
    assert set(duplicate["emails"]) <= set(merged["emails"])

    card.get_by_role("button", name="Deshacer fusión").click()

    expect(card.locator(".merge-done")).to_have_count(0)
    restored = api_json(local_stack.call("GET", f"/v1/contacts/{duplicate['id']}", role="agent"))
    assert restored["emails"] == duplicate["emails"]

    # Undone, the pair is a suggestion again; dismissed, it is not suggested any more.
    card.locator(".merge-item").get_by_role("button", name="Descartar").click()

    expect(card).to_be_hidden()
    assert api_json(local_stack.call("GET", suggestions, role="agent"))["items"] == []
