"""Login: demo buttons from the local-only GET /_local/token, a pasted token, the language switch."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from playwright.sync_api import Page, expect

from e2e.browser.webapp import login, shoot
from e2e.local_stack_support import LocalStackClient

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


def test_local_token_endpoint_mints_demo_tokens_the_gateway_accepts(local_stack: LocalStackClient) -> None:
    offer = requests.get(f"{local_stack.url}/_local/token", timeout=10)
    minted = requests.get(f"{local_stack.url}/_local/token", params={"role": "agent"}, timeout=10)
    refused = requests.get(f"{local_stack.url}/_local/token", params={"role": "root"}, timeout=10)

    assert offer.json() == {"roles": ["owner", "manager", "agent"], "workspace_id": "ws_demo"}
    assert minted.status_code == 200
    assert minted.headers["Cache-Control"] == "no-store"
    me = local_stack.call("GET", "/v1/me", token=minted.json()["token"])
    assert (me.status_code, me.json()["role"], me.json()["user"]["id"]) == (200, "agent", "usr_demo_agent")
    assert refused.status_code == 400


def test_login_screen_language_switch_is_remembered(
    page: Page, local_stack: LocalStackClient, screenshots: Path
) -> None:
    page.goto(f"{local_stack.url}/")

    expect(page.get_by_role("heading", name="Iniciar sesión")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "es")
    expect(page.locator("#demo-buttons").get_by_role("button")).to_have_count(3)
    shoot(page, screenshots, "01-login")

    page.get_by_role("combobox", name="Idioma").select_option("en")
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Sign in as demo: Agent")).to_be_visible()
    expect(page.get_by_label("Access token")).to_be_visible()

    page.reload()
    expect(page.get_by_role("heading", name="Sign in", exact=True)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "en")


def test_a_pasted_token_signs_in_and_a_bad_one_is_refused(page: Page, local_stack: LocalStackClient) -> None:
    page.goto(f"{local_stack.url}/")
    page.get_by_label("Token de acceso").fill("not-a-jwt")
    page.get_by_role("button", name="Entrar", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("El token no es válido o ha caducado.")

    token = local_stack.token("manager")
    page.get_by_label("Token de acceso").fill(f"Bearer {token}")
    page.get_by_role("button", name="Entrar", exact=True).click()

    expect(page.get_by_role("heading", name="Bandeja de entrada")).to_be_visible()
    expect(page.locator("#user-label")).to_have_text("Mario Manager · Gerente")
    assert page.evaluate("sessionStorage.getItem('inbox-crm:token')") == token

    page.get_by_role("button", name="Salir").click()
    expect(page.get_by_role("heading", name="Iniciar sesión")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('inbox-crm:token')") is None


def test_demo_buttons_stay_hidden_without_the_local_endpoint(
    page: Page, local_stack: LocalStackClient
) -> None:
    # As in AWS, where /_local/token does not exist.
    page.route("**/_local/token*", lambda route: route.fulfill(status=404, json={"message": "Not Found"}))
    page.goto(f"{local_stack.url}/")

    expect(page.get_by_label("Token de acceso")).to_be_visible()
    expect(page.locator("#demo-login")).to_be_hidden()


def test_an_expired_session_returns_to_login(page: Page, local_stack: LocalStackClient) -> None:
    login(page, local_stack)
    page.evaluate("sessionStorage.setItem('inbox-crm:token', 'expired')")

    page.evaluate("window.dispatchEvent(new Event('focus'))")  # the next poll gets a 401

    expect(page.get_by_role("alert")).to_have_text("Tu sesión ha caducado. Vuelve a entrar.")
    expect(page.get_by_role("heading", name="Iniciar sesión")).to_be_visible()
