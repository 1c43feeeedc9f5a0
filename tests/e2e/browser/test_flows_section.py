"""Automatización (issue 13): a manager builds a flow from scratch and from a template, sees the API's
validation errors at the field they name, enables and activates it, replays a webhook on the local
stack and finds the run in the flow's history; an agent has no such section. Screens at 1280×800 and
390×844 have no sideways scroll and the pages log no console errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import ConsoleMessage, Page, expect

from e2e.browser.test_quality import violations
from e2e.browser.webapp import (
    api_json,
    login,
    messenger_conversation,
    messenger_text,
    post_webhook,
    set_profile,
    shoot,
    unique_digits,
    unique_letters,
    wait_until,
)
from e2e.local_stack_support import LocalStackClient

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


@pytest.fixture
def console_errors(page: Page) -> Iterator[list[str]]:
    errors: list[str] = []

    def record(message: ConsoleMessage) -> None:
        # Chromium logs every refused request; the 422 of the invalid save is the one a test provokes.
        if message.type == "error" and "status of 422" not in message.text:
            errors.append(message.text)

    page.on("console", record)
    yield errors
    assert not errors, f"console errors: {errors}"


@pytest.fixture
def flows_cleanup(local_stack: LocalStackClient) -> Iterator[None]:
    """Flows are workspace-wide and this stack is shared by the session: leave none active behind."""
    before = {flow["id"] for flow in api_json(local_stack.call("GET", "/v1/flows", role="owner"))["items"]}
    yield
    for flow in api_json(local_stack.call("GET", "/v1/flows", role="owner"))["items"]:
        if flow["id"] not in before:
            assert local_stack.call("DELETE", f"/v1/flows/{flow['id']}", role="owner").status_code == 204


def no_sideways_scroll(page: Page) -> None:
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls {overflow}px sideways"


def check_sizes(page: Page, screenshots: Path, name: str) -> None:
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        no_sideways_scroll(page)
        assert not violations(page), f"{name} at {size}: axe finds {violations(page)}"
        shoot(page, screenshots, f"flows-{name}-{size}")
    page.set_viewport_size({"width": 1280, "height": 800})


def flows_nav(page: Page):  # type: ignore[no-untyped-def]
    return page.get_by_role("navigation", name="Secciones").get_by_role("link", name="Automatización")


def runs_of(stack: LocalStackClient, flow_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = api_json(stack.call("GET", f"/v1/flows/{flow_id}/runs", role="owner"))[
        "items"
    ]
    return items


def completed_run(stack: LocalStackClient, flow_id: str) -> dict[str, Any]:
    return wait_until(
        lambda: next((run for run in runs_of(stack, flow_id) if run["state"] == "completed"), None),
        f"a completed run of {flow_id}",
    )


def test_a_flow_from_scratch_is_validated_enabled_and_its_run_shows_in_the_history(
    page: Page,
    local_stack: LocalStackClient,
    screenshots: Path,
    console_errors: list[str],
    flows_cleanup: None,
) -> None:
    tag = api_json(
        local_stack.call("POST", "/v1/tags", role="owner", json={"name": f"Flujo {unique_letters()}"}), 201
    )
    keyword = f"precio{unique_letters()}"
    page.set_viewport_size({"width": 1280, "height": 800})
    login(page, local_stack, "manager")
    flows_nav(page).click()
    expect(page.get_by_role("heading", level=1, name="Automatización")).to_be_visible()
    page.get_by_role("link", name="Nuevo flujo").first.click()
    expect(page).to_have_url(f"{local_stack.url}/app/flows/new")
    check_sizes(page, screenshots, "new")
    page.get_by_role("link", name="Crear desde cero").click()

    editor = page.get_by_role("form", name="Editor del flujo")
    editor.get_by_label("Nombre del flujo").fill("Responder precios")
    editor.locator('[data-loc="trigger.type"] select').select_option(label="Mensaje recibido")
    editor.locator('[data-loc="trigger.channel"] select').select_option(label="vía Facebook")
    editor.get_by_label("Palabras clave").fill(keyword)
    # the default first step is "Crear/asociar contacto"; then a message with a variable, a button
    # and an attachment, then a tag
    editor.get_by_label("Añadir acción…").last.select_option(label="Enviar mensaje")
    message = editor.locator('[data-loc="steps.1"]')
    message.get_by_label("Mensaje", exact=True).fill("Hola ")
    message.get_by_label("Insertar variable…").select_option(label="Nombre")
    expect(message.get_by_label("Mensaje", exact=True)).to_have_value("Hola {{contact.first_name}}")
    message.get_by_role("button", name="Añadir botón").click()
    message.get_by_label("Texto del botón").fill("Ver precios")
    message.get_by_label("Enlace", exact=True).fill("https://example.com/precios")
    message.get_by_role("button", name="Añadir adjunto").click()
    message.get_by_label("URL (https)").fill("http://example.com/lista.pdf")  # not https: refused
    editor.get_by_label("Añadir acción…").last.select_option(label="Añadir etiqueta")
    editor.locator('[data-loc="steps.2.tag_id"] select').select_option(tag["id"])
    # a decision: when the message says the keyword, close the conversation
    editor.get_by_label("Añadir acción…").last.select_option(label="Decisión")
    decision = editor.locator('[data-loc="steps.3"]')
    decision.locator('[data-loc="steps.3.conditions.0.field"] select').select_option(
        label="Texto del mensaje"
    )
    decision.locator('[data-loc="steps.3.conditions.0.op"] select').select_option(label="contiene")
    decision.locator('[data-loc="steps.3.conditions.0.value"] input').fill(keyword)
    decision.locator('[data-loc="steps.3.then"] > .flow-add-step').select_option(label="Cerrar conversación")
    check_sizes(page, screenshots, "editor")

    editor.get_by_role("button", name="Validar y guardar").click()
    error = editor.locator('[data-loc="steps.1.attachments.0.url"] .field-error')
    expect(error).to_have_text("El formato no es válido (los enlaces empiezan por https://).")
    expect(editor.locator('[data-loc="steps.1.attachments.0.url"] input')).to_have_attribute(
        "aria-invalid", "true"
    )
    expect(page).to_have_url(f"{local_stack.url}/app/flows/new/scratch")
    shoot(page, screenshots, "flows-editor-refused")

    message.get_by_label("URL (https)").fill("https://example.com/lista.pdf")
    message.get_by_label("Tipo", exact=True).select_option(label="Archivo")
    editor.get_by_role("button", name="Validar y guardar").click()
    expect(page.locator(".flow-title")).to_have_text("Responder precios")
    flow_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("[data-flow-state]")).to_have_text("Borrador")
    saved = api_json(local_stack.call("GET", f"/v1/flows/{flow_id}", role="owner"))
    assert saved["trigger"] == {
        "type": "message_received",
        "channel": "messenger",
        "keywords": [keyword],
        "keyword_match": "contains_any",
    }
    assert [step["type"] for step in saved["steps"]] == [
        "create_contact",
        "send_message",
        "add_tag",
        "decision",
    ]
    assert saved["steps"][3]["conditions"] == [{"field": "message.text", "op": "contains", "value": keyword}]
    assert saved["steps"][3]["then"] == [{"type": "close"}]
    assert saved["steps"][3]["else"] == []
    assert saved["steps"][1]["buttons"] == [
        {"type": "web_url", "title": "Ver precios", "url": "https://example.com/precios"}
    ]
    assert saved["steps"][1]["attachments"] == [{"type": "file", "url": "https://example.com/lista.pdf"}]

    page.get_by_role("button", name="Habilitar y activar").click()
    expect(page.locator("[data-flow-state]")).to_have_text("Activo")
    expect(page.get_by_text("Todavía no se ha ejecutado.")).to_be_visible()

    psid = "78" + unique_digits(14)
    set_profile(local_stack, psid, "Marta", "Quintero")
    post_webhook(local_stack, messenger_text(psid, f"¿Cuál es el {keyword}?"))
    run = completed_run(local_stack, flow_id)
    page.get_by_role("button", name="Actualizar").click()
    shown = page.locator(f'.run[data-run-id="{run["id"]}"]')
    expect(shown).to_contain_text("Completado")
    shown.locator("summary").click()
    assert [step["path"] for step in run["steps"]][-1] == "3.then.0"  # the decision went its "then" way
    expect(shown.locator(".run-step")).to_have_count(len(run["steps"]))
    expect(shown.locator(".run-step").nth(1)).to_contain_text("2 · Enviar mensaje")
    expect(shown.locator(".run-step").last).to_contain_text("4 › Entonces › 1 · Cerrar conversación")
    expect(shown.get_by_role("link", name="Abrir la conversación")).to_have_attribute(
        "href", f"/app/inbox/{run['conversation_id']}"
    )
    check_sizes(page, screenshots, "runs")

    # the list: its state and its last run
    page.get_by_role("link", name="Volver a los flujos").click()
    row = page.locator(f'.flow-row[data-flow-id="{flow_id}"]')
    expect(row).to_contain_text("Activo")
    expect(row).to_contain_text("Última ejecución")
    check_sizes(page, screenshots, "list")

    # deactivated, it stays in the list as such
    row.get_by_role("link", name="Responder precios").click()
    page.get_by_role("button", name="Desactivar").click()
    expect(page.locator("[data-flow-state]")).to_have_text("Desactivado")
    expect(page.get_by_role("button", name="Activar")).to_be_visible()


def test_a_flow_from_a_template_registers_the_sender_of_a_replayed_webhook(
    page: Page,
    local_stack: LocalStackClient,
    screenshots: Path,
    console_errors: list[str],
    flows_cleanup: None,
) -> None:
    login(page, local_stack, "owner")
    page.goto(f"{local_stack.url}/app/flows/new")
    page.get_by_role("button", name="Usar plantilla Registrar remitentes de Facebook").click()
    expect(page.locator(".flow-title")).to_have_text("Registrar remitentes de Facebook")
    flow_id = page.url.rsplit("/", 1)[1]
    expect(page.locator("[data-flow-state]")).to_have_text("Borrador")
    page.get_by_role("button", name="Habilitar y activar").click()
    expect(page.locator("[data-flow-state]")).to_have_text("Activo")

    _, conversation = messenger_conversation(local_stack, "Rosa", f"Plantilla{unique_letters()}", "hola")
    run = completed_run(local_stack, flow_id)
    assert run["conversation_id"] == conversation["id"]
    page.reload()  # the URL survives a reload, and shows the run
    shown = page.locator(f'.run[data-run-id="{run["id"]}"]')
    expect(shown).to_contain_text("Completado")
    expect(shown).to_contain_text("Conversación abierta")
    shown.locator("summary").click()
    assert [step["state"] for step in run["steps"]] == ["done"]
    expect(shown.locator(".run-step")).to_have_count(1)
    expect(shown.locator(".run-step")).to_contain_text("Crear/asociar contacto")
    expect(shown.locator(".run-step")).to_contain_text("Hecho")
    check_sizes(page, screenshots, "template-run")


def test_an_agent_has_no_automation_section(page: Page, local_stack: LocalStackClient) -> None:
    login(page, local_stack, "agent")
    expect(flows_nav(page)).to_have_count(0)
    page.goto(f"{local_stack.url}/app/flows/new")
    state = page.locator('[data-state="forbidden"]')
    expect(state).to_contain_text("No tienes permiso para ver esta sección")
    expect(page.get_by_role("form", name="Editor del flujo")).to_have_count(0)


def test_a_failed_load_says_so_and_retries(page: Page, local_stack: LocalStackClient) -> None:
    login(page, local_stack, "manager")
    page.route("**/v1/flows", lambda route: route.fulfill(status=500, body="{}"))
    flows_nav(page).click()
    state = page.locator('[data-state="error"]')
    expect(state).to_be_visible()
    page.unroute("**/v1/flows")
    state.get_by_role("button", name="Reintentar").click()
    expect(page.locator('[data-state="error"]')).to_have_count(0)
    expect(page.get_by_role("link", name="Nuevo flujo").first).to_be_visible()
