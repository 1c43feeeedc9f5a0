"""The navigation shell: each role sees the sections it may use, every section has a URL that survives
a reload, a section the role may not use says so (and offers a way out), old and unknown URLs land
somewhere sensible, and the labels follow the language."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from e2e.browser.webapp import login
from e2e.local_stack_support import LocalStackClient

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SECTIONS = {
    "inbox": "Bandeja de entrada",
    "contacts": "Contactos",
    "flows": "Automatización",
    "broadcasts": "Transmisiones",
    "settings": "Configuración",
}
# docs/PERMISSIONS.md: agents read broadcasts; they may not edit flows nor manage what the settings hold.
VISIBLE = {
    "agent": ["inbox", "contacts", "broadcasts"],
    "manager": list(SECTIONS),
    "owner": list(SECTIONS),
}


def nav(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("navigation", name="Secciones")


@pytest.mark.parametrize("role", ["agent", "manager", "owner"])
def test_each_role_sees_its_sections_and_each_url_survives_a_reload(
    page: Page, local_stack: LocalStackClient, role: str
) -> None:
    login(page, local_stack, role)
    expect(page).to_have_url(f"{local_stack.url}/app/inbox")
    expect(nav(page).locator(".nav-label")).to_have_text([SECTIONS[key] for key in VISIBLE[role]])

    for key in VISIBLE[role]:
        nav(page).get_by_role("link", name=SECTIONS[key]).click()
        expect(page).to_have_url(f"{local_stack.url}/app/{key}")
        expect(page.get_by_role("heading", level=1, name=SECTIONS[key])).to_be_visible()
        expect(nav(page).get_by_role("link", name=SECTIONS[key])).to_have_attribute("aria-current", "page")
        page.reload()
        expect(page.get_by_role("heading", level=1, name=SECTIONS[key])).to_be_visible()
        # "(2) " in front when other tests of this session left unread conversations
        expect(page).to_have_title(re.compile(rf"^(\(\d+\) )?{SECTIONS[key]} · Inbox CRM$"))

    page.go_back()
    expect(page.get_by_role("heading", level=1, name=SECTIONS[VISIBLE[role][-2]])).to_be_visible()


def test_a_section_the_role_may_not_use_says_so_and_leads_back(
    page: Page, local_stack: LocalStackClient
) -> None:
    login(page, local_stack, "agent")
    page.goto(f"{local_stack.url}/app/settings/channels")

    state = page.locator('[data-state="forbidden"]')
    expect(state).to_contain_text("No tienes permiso para ver esta sección")
    expect(state).to_contain_text("Agente")
    expect(nav(page).get_by_role("link", name="Configuración")).to_have_count(0)
    state.get_by_role("link", name="Ir a la bandeja de entrada").click()
    expect(page).to_have_url(f"{local_stack.url}/app/inbox")
    expect(page.get_by_role("heading", level=1, name="Bandeja de entrada")).to_be_visible()


def test_old_and_unknown_urls(page: Page, local_stack: LocalStackClient) -> None:
    login(page, local_stack, "owner")
    page.goto(f"{local_stack.url}/app/")
    expect(page).to_have_url(f"{local_stack.url}/app/inbox")
    page.goto(f"{local_stack.url}/app/c/cnv_does_not_exist")  # the conversation links of old
    expect(page).to_have_url(f"{local_stack.url}/app/inbox/cnv_does_not_exist")

    page.goto(f"{local_stack.url}/app/reports")
    expect(page.locator('[data-state="not-found"]')).to_contain_text("Esta página no existe")
    page.get_by_role("link", name="Ir a la bandeja de entrada").click()
    expect(page).to_have_url(f"{local_stack.url}/app/inbox")


def test_navigation_follows_the_language(page: Page, local_stack: LocalStackClient) -> None:
    login(page, local_stack, "owner")
    page.locator("#app-language").select_option("en")
    # Labels, not link text: the inbox's link also carries the unread count.
    expect(page.get_by_role("navigation", name="Sections").locator(".nav-label")).to_have_text(
        ["Inbox", "Contacts", "Automation", "Broadcasts", "Settings"]
    )
    page.get_by_role("link", name="Automation").click()
    expect(page.get_by_role("heading", level=1, name="Automation")).to_be_visible()
    expect(page).to_have_title(re.compile(r"^(\(\d+\) )?Automation · Inbox CRM$"))


def test_on_a_phone_the_sections_are_a_menu(page: Page, local_stack: LocalStackClient) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, local_stack, "manager")
    menu = page.get_by_role("button", name="Menú")
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav(page).get_by_role("link", name="Contactos")).to_be_hidden()

    menu.click()
    nav(page).get_by_role("link", name="Contactos").click()
    expect(page.get_by_role("heading", level=1, name="Contactos")).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "false")
    expect(nav(page).get_by_role("link", name="Contactos")).to_be_hidden()
