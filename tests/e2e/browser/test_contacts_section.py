"""Contactos (seed 002) in the browser: the list with search and tag filter, a selection of rows or of
every matching contact with the bulk actions, "Contactos bloqueados", the contact page and its tabs
(fields edited in place, tags searched and created, CRM, Canales, Conversaciones), merge suggestions
with undo, and the merge history — as an agent, a manager and an owner, on a laptop and a phone."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from e2e.browser.webapp import (
    api_json,
    login,
    messenger_conversation,
    shoot,
    unique_letters,
    wait_until,
)
from e2e.local_stack_support import LocalStackClient

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

AXE = Axe()
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}}
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


def new_contact(stack: LocalStackClient, first: str, last: str, **fields: Any) -> dict[str, Any]:
    body = {
        "first_name": first,
        "last_name": last,
        "emails": [f"{first}.{last}@example.com".lower()],
        **fields,
    }
    return api_json(stack.call("POST", "/v1/contacts", role="owner", json=body), 201)


def contact(stack: LocalStackClient, contact_id: str) -> dict[str, Any]:
    return api_json(stack.call("GET", f"/v1/contacts/{contact_id}", role="owner"))


def no_sideways_scroll(page: Page) -> None:
    """And, while at it, no WCAG 2 A/AA violation axe-core finds on the screen."""
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls {overflow}px sideways"
    found = AXE.run(page, options=WCAG_AA).response["violations"]
    assert not found, [(item["id"], [node["target"] for node in item["nodes"][:3]]) for item in found]


def console_errors(page: Page) -> list[str]:
    """Console errors, except the browser's own line for an HTTP error answer: the tests cause some
    on purpose (a 422 for an invalid phone, a 404 for a missing contact) and the page shows them."""
    errors: list[str] = []

    def record(message: Any) -> None:
        if message.type == "error" and not message.text.startswith("Failed to load resource"):
            errors.append(message.text)

    page.on("console", record)
    return errors


def rows(page: Page):  # type: ignore[no-untyped-def]
    return page.locator(".contacts-row[data-contact-id]")


def search(page: Page, text: str) -> None:
    page.get_by_role("searchbox", name="Buscar contactos").fill(text)


def test_a_manager_selects_every_matching_contact_and_blocks_then_unblocks_them(
    page: Page, local_stack: LocalStackClient, screenshots: Path
) -> None:
    errors = console_errors(page)
    surname = f"Masivo{unique_letters()}"
    ids = [new_contact(local_stack, f"Cliente{index:02d}", surname)["id"] for index in range(53)]
    page.set_viewport_size(LAPTOP)
    login(page, local_stack, "manager")
    page.get_by_role("navigation", name="Secciones").get_by_role("link", name="Contactos").click()
    expect(page.get_by_role("heading", level=1, name="Contactos")).to_be_visible()

    search(page, surname)
    expect(rows(page)).to_have_count(50)  # one page; "Cargar más" holds the rest
    expect(page.get_by_role("button", name="Cargar más")).to_be_visible()
    page.get_by_role("checkbox", name="Seleccionar los contactos de esta página").check()
    bulk = page.get_by_role("region", name="Acciones con los contactos seleccionados")
    expect(bulk).to_contain_text("50 seleccionados")
    bulk.get_by_role("button", name="Seleccionar todos los que coinciden").click()
    expect(bulk).to_contain_text("Todos los contactos que coinciden están seleccionados")
    expect(bulk).not_to_contain_text("null")
    shoot(page, screenshots, "contacts-01-all-matching-selected")
    no_sideways_scroll(page)

    bulk.get_by_role("button", name="Bloquear").click()
    dialog = page.get_by_role("dialog", name="¿Bloquear contactos?")
    expect(dialog).to_contain_text("todos los contactos que coinciden")
    dialog.get_by_role("button", name="Bloquear").click()
    expect(bulk).to_contain_text("Listo: 53 cambiados, 0 ya estaban así.")
    assert all(contact(local_stack, contact_id)["blocked"] for contact_id in ids)

    page.get_by_role("navigation", name="Vistas de contactos").get_by_role(
        "link", name="Contactos bloqueados"
    ).click()
    expect(page).to_have_url(f"{local_stack.url}/app/contacts/blocked")
    search(page, surname)
    expect(rows(page)).to_have_count(50)
    expect(rows(page).first.locator(".pill")).to_have_text("Bloqueado")
    page.get_by_role("checkbox", name="Seleccionar los contactos de esta página").check()
    bulk.get_by_role("button", name="Seleccionar todos los que coinciden").click()
    bulk.get_by_role("button", name="Desbloquear").click()
    page.get_by_role("dialog", name="¿Desbloquear contactos?").get_by_role(
        "button", name="Desbloquear"
    ).click()
    expect(bulk).to_contain_text("Listo: 53 cambiados")
    expect(page.locator('[data-state="empty"]')).to_contain_text("Ningún contacto coincide")
    assert not any(contact(local_stack, contact_id)["blocked"] for contact_id in ids)

    page.set_viewport_size(PHONE)
    page.get_by_role("navigation", name="Vistas de contactos").get_by_role("link", name="Todos").click()
    search(page, surname)
    expect(rows(page)).to_have_count(50)
    shoot(page, screenshots, "contacts-02-list-phone")
    no_sideways_scroll(page)
    assert not errors, errors


def test_chosen_rows_are_tagged_and_deleted_and_the_tag_filter_follows(
    page: Page, local_stack: LocalStackClient
) -> None:
    errors = console_errors(page)
    surname = f"Elegido{unique_letters()}"
    tag = api_json(local_stack.call("POST", "/v1/tags", role="owner", json={"name": f"Feria {surname}"}), 201)
    first, second, third = (new_contact(local_stack, name, surname) for name in ("Ana", "Beto", "Caro"))
    page.set_viewport_size(LAPTOP)
    login(page, local_stack, "owner")
    page.goto(f"{local_stack.url}/app/contacts")
    search(page, surname)
    expect(rows(page)).to_have_count(3)
    page.get_by_role("checkbox", name=f"Seleccionar a Ana {surname}").check()
    page.get_by_role("checkbox", name=f"Seleccionar a Beto {surname}").check()
    bulk = page.get_by_role("region", name="Acciones con los contactos seleccionados")
    expect(bulk).to_contain_text("2 seleccionados")
    expect(bulk.get_by_role("button", name="Seleccionar todos los que coinciden")).to_have_count(0)
    bulk.get_by_label("Etiqueta a asignar").select_option(tag["id"])
    bulk.get_by_role("button", name="Asignar etiqueta").click()
    expect(bulk).to_contain_text("Listo: 2 cambiados")

    search(page, "")
    page.get_by_label("Filtrar por etiqueta").select_option(tag["id"])
    expect(rows(page)).to_have_count(2)
    expect(rows(page).first.locator(".tag")).to_have_text(f"Feria {surname}")

    page.get_by_role("checkbox", name=f"Seleccionar a Beto {surname}").check()
    bulk.get_by_role("button", name="Eliminar").click()
    dialog = page.get_by_role("dialog", name="¿Eliminar contactos?")
    expect(dialog).to_contain_text("1 contactos")
    dialog.get_by_role("button", name="Eliminar").click()
    expect(rows(page)).to_have_count(1)
    assert local_stack.call("GET", f"/v1/contacts/{second['id']}", role="owner").status_code == 404
    assert contact(local_stack, first["id"])["tags"] == [tag["id"]]
    assert contact(local_stack, third["id"])["tags"] == []
    assert not errors, errors


def test_an_agent_edits_a_contact_in_place_and_tags_it_but_cannot_delete(
    page: Page, local_stack: LocalStackClient, screenshots: Path
) -> None:
    errors = console_errors(page)
    surname = f"Agente{unique_letters()}"
    tag = api_json(
        local_stack.call("POST", "/v1/tags", role="owner", json={"name": f"Mayorista {surname}"}), 201
    )
    created = new_contact(local_stack, "Lucía", surname, primary_phone="+52 55 1111 2222")
    page.set_viewport_size(LAPTOP)
    login(page, local_stack, "agent")
    page.goto(f"{local_stack.url}/app/contacts")
    search(page, surname)
    rows(page).get_by_role("link", name=f"Lucía {surname}").click()
    expect(page).to_have_url(f"{local_stack.url}/app/contacts/{created['id']}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Lucía {surname}")
    expect(page.get_by_text(f"ID: {created['id']}")).to_be_visible()

    page.get_by_role("button", name="Editar Nombre").click()
    page.get_by_label("Nombre", exact=True).fill("Lucía Fernanda")
    page.get_by_role("button", name="Guardar").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Lucía Fernanda {surname}")
    page.get_by_role("button", name="Editar Número de teléfono").click()
    page.get_by_label("Número de teléfono").fill("12")
    page.get_by_role("button", name="Guardar").click()
    expect(page.locator('.field-row[data-field="primary_phone"] [role="alert"]')).to_be_visible()
    page.get_by_role("button", name="Cancelar").click()
    assert contact(local_stack, created["id"])["first_name"] == "Lucía Fernanda"

    tags = page.get_by_role("region", name="Etiquetas")
    tags.get_by_role("button", name="+ Añadir etiqueta").click()
    page.get_by_role("searchbox", name="Buscar etiquetas").fill(f"mayorista {surname.lower()}")
    page.get_by_role("checkbox", name=f"Mayorista {surname}").check()
    expect(tags.locator(".tag-list .tag")).to_have_text([f"Mayorista {surname}×"])
    page.get_by_role("searchbox", name="Buscar etiquetas").fill(f"Nueva {surname}")
    expect(tags).to_contain_text("Solo propietarios y gerentes pueden crear etiquetas.")
    assert contact(local_stack, created["id"])["tags"] == [tag["id"]]
    shoot(page, screenshots, "contacts-03-contact-agent")
    no_sideways_scroll(page)

    page.get_by_role("button", name="Acciones del contacto").click()
    expect(page.get_by_role("menuitem", name="Bloquear")).to_be_visible()
    expect(page.get_by_role("menuitem", name="Eliminar")).to_have_count(0)

    page.get_by_role("link", name="CRM").click()
    expect(page.locator('[data-state="empty"]')).to_contain_text("Oportunidades, actividades y tareas")
    no_sideways_scroll(page)
    page.get_by_role("link", name="Conversaciones").click()
    expect(page.locator('[data-state="empty"]')).to_contain_text("Sin conversaciones")

    expect(page.get_by_role("link", name="Historial de fusiones")).to_have_count(0)
    page.goto(f"{local_stack.url}/app/contacts/merges")
    expect(page.locator('[data-state="forbidden"]')).to_contain_text("Agente")
    page.goto(f"{local_stack.url}/app/contacts/ctc_does_not_exist")
    expect(page.locator('[data-state="not-found"]')).to_be_visible()
    assert not errors, errors


def test_an_owner_sees_channels_removes_one_and_merges_a_duplicate_then_undoes_it(
    page: Page, local_stack: LocalStackClient, screenshots: Path
) -> None:
    errors = console_errors(page)
    surname = f"Dueña{unique_letters()}"
    psid, conversation = messenger_conversation(local_stack, "Rosa", surname, "¿Tienen envíos?")
    body = {
        "contact": {
            "first_name": "Rosa",
            "last_name": surname,
            "emails": [f"rosa@{surname.lower()}.mx"],
            "consent": {"given": True},
        }
    }
    linked = api_json(
        local_stack.call("POST", f"/v1/conversations/{conversation['id']}/contact", role="owner", json=body),
        201,
    )
    rosa = linked["contact"]["id"]
    twin = new_contact(local_stack, "Rosita", surname, emails=[f"rosa@{surname.lower()}.mx"])
    wait_until(
        lambda: api_json(local_stack.call("GET", f"/v1/contacts/{rosa}/merge-suggestions", role="owner"))[
            "items"
        ],
        "the merge suggestion",
    )
    page.set_viewport_size(LAPTOP)
    login(page, local_stack, "owner")
    page.goto(f"{local_stack.url}/app/contacts/{rosa}")

    card = page.locator(".merge-card")
    expect(card).to_contain_text(f"Rosita {surname}")
    expect(card.locator("mark.shared")).to_have_text(f"rosa@{surname.lower()}.mx")
    shoot(page, screenshots, "contacts-04-merge-suggestion")
    card.get_by_role("button", name="Fusionar").click()
    expect(card).to_contain_text("Fusión realizada")
    assert local_stack.call("GET", f"/v1/contacts/{twin['id']}", role="owner").status_code in (404, 409)
    card.get_by_role("button", name="Deshacer fusión").click()
    expect(card).not_to_contain_text("Fusión realizada")
    assert contact(local_stack, twin["id"])["first_name"] == "Rosita"

    page.get_by_role("navigation", name="Secciones del contacto").get_by_role(
        "link", name="Conversaciones"
    ).click()
    expect(page).to_have_url(f"{local_stack.url}/app/contacts/{rosa}/conversations")
    link = page.locator(f'.contact-conversations a[href="/app/inbox/{conversation["id"]}"]')
    expect(link).to_contain_text("¿Tienen envíos?")

    # Opening it in the inbox also reads it: no unread count is left for the other tests' titles.
    link.click()
    expect(page).to_have_url(f"{local_stack.url}/app/inbox/{conversation['id']}")
    expect(page.locator(".msg.in .msg-text")).to_have_text(["¿Tienen envíos?"])
    page.go_back()
    expect(page).to_have_url(f"{local_stack.url}/app/contacts/{rosa}/conversations")

    page.get_by_role("link", name="Canales").click()
    active = page.locator('.channel-card[data-state="active"]')
    expect(active).to_have_count(1)
    expect(active).to_contain_text("Activo")
    expect(active).to_contain_text("Última actividad")
    shoot(page, screenshots, "contacts-05-channels")
    no_sideways_scroll(page)
    active.get_by_role("button", name="Quitar").click()
    page.get_by_role("dialog", name="¿Quitar este canal del contacto?").get_by_role(
        "button", name="Quitar"
    ).click()
    expect(page.locator('.channel-card[data-state="active"]')).to_have_count(0)
    assert contact(local_stack, rosa)["identities"] == []
    kept = api_json(local_stack.call("GET", f"/v1/conversations/{conversation['id']}", role="owner"))
    assert kept["contact_id"] is None  # the conversation (its history) stays with the sender

    page.goto(f"{local_stack.url}/app/contacts/merges")
    history = page.get_by_role("list", name="Historial de fusiones")
    row = history.locator(".merge-row").filter(has_text=f"Rosa {surname}").first
    expect(row).to_contain_text("Deshecha")
    no_sideways_scroll(page)
    page.set_viewport_size(PHONE)
    page.goto(f"{local_stack.url}/app/contacts/{rosa}")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Rosa {surname}")
    shoot(page, screenshots, "contacts-06-contact-phone")
    no_sideways_scroll(page)
    assert psid
    assert not errors, errors
