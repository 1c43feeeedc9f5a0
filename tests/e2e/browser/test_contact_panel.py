"""The contact panel beside a conversation: "Crear nuevo contacto" (consent required) and "Asociar
contacto" from the search, the grey → orange marker, the identities on the contact, API errors in
the panel, and the same screens in English."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from e2e.browser.webapp import (
    api_json,
    contact_panel,
    inbox_item,
    login,
    messenger_conversation,
    open_conversation,
    post_webhook,
    shoot,
    unique_digits,
    unique_letters,
    wait_for_conversation,
    whatsapp_text,
)
from e2e.local_stack_support import LocalStackClient

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ORANGE = "rgb(232, 89, 12)"  # --registered
GREY = "rgb(138, 145, 158)"  # --unregistered
WHATSAPP_TEXT = "Hola, buenas tardes 🌮 ¿siguen abiertos? ¿cuánto cuesta el envío? 👩‍👩‍👧‍👦"


def marker_color(page: Page, conversation_id: str) -> str:
    return (
        inbox_item(page, conversation_id)
        .locator(".avatar-person")
        .evaluate("element => getComputedStyle(element).backgroundColor")
    )


def new_contact(local_stack: LocalStackClient, first: str, last: str) -> dict:
    body = {
        "first_name": first,
        "last_name": last,
        "emails": [f"{first}.{last}@example.com".lower()],
        "consent": {"given": True},
    }
    return api_json(local_stack.call("POST", "/v1/contacts", role="agent", json=body), 201)


def test_create_a_contact_from_a_whatsapp_conversation(
    page: Page, local_stack: LocalStackClient, screenshots: Path
) -> None:
    wa_id = "52155" + unique_digits(8)
    surname = f"Olvera {unique_letters().capitalize()}"
    post_webhook(local_stack, whatsapp_text(wa_id, f"Mariana {surname}", WHATSAPP_TEXT))
    conversation = wait_for_conversation(
        local_stack, lambda item: item["handle"] == f"+{wa_id}", "the WhatsApp conversation"
    )
    login(page, local_stack)

    item = inbox_item(page, conversation["id"])
    expect(item).to_contain_text(f"Mariana {surname}")
    expect(item.get_by_role("img", name="No registrado")).to_be_visible()
    expect(item.get_by_role("img", name="WhatsApp")).to_be_visible()
    expect(item.locator(".badge")).to_have_text("1")
    assert marker_color(page, conversation["id"]) == GREY
    shoot(page, screenshots, "02-inbox")

    open_conversation(page, conversation["id"])
    expect(page.locator(".msg.in .msg-text")).to_have_text([WHATSAPP_TEXT])  # emoji (ZWJ too) intact
    expect(page.locator("#reply-window")).to_contain_text("Ventana de 24 horas abierta")
    panel = contact_panel(page)
    expect(panel.get_by_role("searchbox", name="Buscar contacto")).to_have_attribute(
        "placeholder", "Buscar por nombre, apellido, teléfono o email"
    )
    shoot(page, screenshots, "03-conversation-unregistered")

    panel.get_by_role("button", name="Crear nuevo contacto").click()
    # The channel's name is proposed; the agent corrects it.
    expect(panel.get_by_label("Nombre")).to_have_value("Mariana")
    expect(panel.get_by_label("Apellido")).to_have_value(surname)
    panel.get_by_label("Email").fill("mariana@example.com")
    panel.get_by_role("button", name="Crear", exact=True).click()

    consent = panel.get_by_role("checkbox")
    expect(
        panel.get_by_text("Confirma que el contacto está de acuerdo con que guardemos su información.")
    ).to_be_visible()
    expect(consent).to_have_attribute("aria-invalid", "true")
    expect(panel.get_by_role("alert")).to_have_text("Revisa los campos marcados.")
    shoot(page, screenshots, "04-create-contact-consent-missing")
    registered = local_stack.call("GET", f"/v1/conversations/{conversation['id']}", role="agent").json()
    assert registered["registered"] is False  # nothing was sent without consent

    consent.check()
    panel.get_by_role("button", name="Crear", exact=True).click()

    expect(panel.get_by_text("Contacto registrado", exact=True)).to_be_visible()
    expect(page.get_by_role("status").filter(has_text="creado y vinculado")).to_be_visible()
    linked = local_stack.call("GET", f"/v1/conversations/{conversation['id']}", role="agent").json()
    contact = api_json(local_stack.call("GET", f"/v1/contacts/{linked['contact_id']}", role="agent"))
    assert contact["whatsapp_phone"].endswith(wa_id[-8:])
    assert (contact["first_name"], contact["last_name"], contact["emails"]) == (
        "Mariana",
        surname,
        ["mariana@example.com"],
    )
    expect(panel.locator('[data-field="whatsapp_phone"] dd')).to_have_text(contact["whatsapp_phone"])
    expect(panel.locator('[data-field="email"] dd')).to_have_text("mariana@example.com")
    expect(panel.locator(".contact-name")).to_have_text(f"Mariana {surname}")
    expect(panel.get_by_role("button", name="Bloquear")).to_be_visible()
    expect(panel.get_by_role("button", name="Desvincular")).to_have_count(0)  # agents may not unlink
    expect(item.get_by_role("img", name="Contacto registrado")).to_be_visible()
    expect(
        page.locator("#conversation-avatar").get_by_role("img", name="Contacto registrado")
    ).to_be_visible()
    assert marker_color(page, conversation["id"]) == ORANGE
    shoot(page, screenshots, "05-contact-registered")

    # The same screen on a phone: one pane at a time, the contact panel as a drawer.
    page.set_viewport_size({"width": 390, "height": 844})
    expect(page.locator(".inbox-pane")).to_be_hidden()
    page.get_by_role("button", name="Contacto").click()
    expect(panel.get_by_text("Contacto registrado", exact=True)).to_be_in_viewport()
    shoot(page, screenshots, "06-phone-contact-drawer")


def test_associate_a_messenger_conversation_with_an_existing_contact(
    page: Page, local_stack: LocalStackClient, screenshots: Path
) -> None:
    surname = f"Quiroga{unique_letters()}"
    contact = new_contact(local_stack, "Valentina", surname)
    other = new_contact(local_stack, "Rocío", f"Ibarra{unique_letters()}")
    psid, conversation = messenger_conversation(
        local_stack, "Vale", f"Q{unique_letters()}", "Hola 👋 soy Vale"
    )
    _, second = messenger_conversation(local_stack, "Valentina", f"Q{unique_letters()}", "Otra cuenta mía 🙈")
    login(page, local_stack)
    open_conversation(page, conversation["id"])
    panel = contact_panel(page)

    panel.get_by_role("searchbox", name="Buscar contacto").fill(surname.upper())  # any case
    result = panel.locator(".result").filter(has_text=f"Valentina {surname}")
    expect(result).to_contain_text(contact["emails"][0])
    shoot(page, screenshots, "07-search-results")
    result.get_by_role("button", name="Asociar contacto").click()

    expect(panel.get_by_text("Contacto registrado", exact=True)).to_be_visible()
    expect(panel.locator(".contact-name")).to_have_text(f"Valentina {surname}")
    expect(panel.locator('[data-field="facebook_id"] dd')).to_have_text(psid)
    expect(
        inbox_item(page, conversation["id"]).get_by_role("img", name="Contacto registrado")
    ).to_be_visible()
    linked = local_stack.call("GET", f"/v1/conversations/{conversation['id']}", role="agent").json()
    assert linked["contact_id"] == contact["id"]

    # Another agent links the second conversation while this one is searching: the API's 409 shows.
    open_conversation(page, second["id"])
    panel.get_by_role("searchbox", name="Buscar contacto").fill(surname)
    result = panel.locator(".result").filter(has_text=f"Valentina {surname}")
    expect(result).to_be_visible()
    elsewhere = local_stack.call(
        "POST", f"/v1/conversations/{second['id']}/contact", role="manager", json={"contact_id": other["id"]}
    )
    assert elsewhere.status_code == 200, elsewhere.text
    result.get_by_role("button", name="Asociar contacto").click()

    expect(panel.get_by_role("alert")).to_have_text("Esta conversación ya está vinculada a otro contacto.")
    shoot(page, screenshots, "08-already-linked-error")

    # English: the panel, the filters and the inbox speak it at once.
    page.get_by_role("combobox", name="Idioma").select_option("en")
    expect(page.get_by_role("heading", name="Inbox", exact=True)).to_be_visible()
    expect(page.get_by_text("Open", exact=True)).to_be_visible()
    expect(page.get_by_text("Closed", exact=True)).to_be_visible()
    expect(panel.get_by_role("searchbox", name="Search contact")).to_have_attribute(
        "placeholder", "Search by first name, last name, phone or email"
    )
    expect(panel.get_by_role("button", name="Create new contact")).to_be_visible()
    expect(panel.get_by_role("button", name="Associate contact")).to_be_visible()
    open_conversation(page, conversation["id"])
    expect(panel.get_by_text("Registered contact", exact=True)).to_be_visible()
    expect(panel.locator('[data-field="facebook_id"] dt')).to_have_text("Facebook ID")
    expect(panel.get_by_role("button", name="Block")).to_be_visible()
    shoot(page, screenshots, "09-english")


def registered_whatsapp_conversation(local_stack: LocalStackClient, first: str, last: str) -> dict:
    wa_id = "52155" + unique_digits(8)
    post_webhook(local_stack, whatsapp_text(wa_id, f"{first} {last}", "Hola 👋"))
    conversation = wait_for_conversation(
        local_stack, lambda item: item["handle"] == f"+{wa_id}", "the WhatsApp conversation"
    )
    body = {"contact": {"first_name": first, "last_name": last, "consent": {"given": True}}}
    path = f"/v1/conversations/{conversation['id']}/contact"
    return api_json(local_stack.call("POST", path, role="agent", json=body), 201)["conversation"]


def test_an_agent_blocks_a_contact_and_the_conversation_leaves_the_inbox(
    page: Page, local_stack: LocalStackClient
) -> None:
    last = f"Spam{unique_letters()}"
    conversation = registered_whatsapp_conversation(local_stack, "Promo", last)
    login(page, local_stack)
    open_conversation(page, conversation["id"])
    panel = contact_panel(page)

    panel.get_by_role("button", name="Bloquear").click()
    expect(panel.get_by_role("alert")).to_contain_text(f"¿Bloquear a Promo {last}?")
    panel.get_by_role("button", name="Sí, bloquear").click()

    expect(panel.locator(".pill", has_text="Bloqueado")).to_be_visible()
    expect(panel.get_by_role("button", name="Desbloquear")).to_have_count(0)  # agents may not unblock
    page.evaluate("window.dispatchEvent(new Event('focus'))")
    expect(inbox_item(page, conversation["id"])).to_have_count(0)
    contact = api_json(local_stack.call("GET", f"/v1/contacts/{conversation['contact_id']}", role="agent"))
    assert contact["blocked"] is True


def test_a_manager_unlinks_a_conversation_from_its_contact(page: Page, local_stack: LocalStackClient) -> None:
    conversation = registered_whatsapp_conversation(local_stack, "Tomás", f"Nieto{unique_letters()}")
    login(page, local_stack, role="manager")
    open_conversation(page, conversation["id"])
    panel = contact_panel(page)

    panel.get_by_role("button", name="Desvincular").click()
    panel.get_by_role("button", name="Sí, desvincular").click()

    expect(panel.get_by_role("button", name="Crear nuevo contacto")).to_be_visible()
    expect(inbox_item(page, conversation["id"]).get_by_role("img", name="No registrado")).to_be_visible()
    unlinked = api_json(local_stack.call("GET", f"/v1/conversations/{conversation['id']}", role="agent"))
    assert unlinked["registered"] is False
