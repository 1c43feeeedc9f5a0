"""Messages in the browser: strangers' text stays text, new webhook messages show up without a reload,
and the composer either sends or says that sending is not available yet."""

from __future__ import annotations

import json
import re
import time
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from e2e.browser.webapp import (
    api_json,
    inbox_item,
    login,
    messenger_conversation,
    messenger_text,
    open_conversation,
    post_webhook,
    rebased,
    set_profile,
    shoot,
    unique_digits,
    unique_letters,
    wait_until,
)
from e2e.local_stack_support import LocalStackClient

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

HOSTILE = '<img src=x onerror="window.__xss=1"> <b>negrita</b> <script>window.__xss=2</script> ☕'


def test_message_text_is_shown_as_text_never_as_html(
    page: Page, local_stack: LocalStackClient, screenshots: Path
) -> None:
    last = f"<i>Eva</i>{unique_letters()}"  # a profile name is a stranger's text too
    _, conversation = messenger_conversation(local_stack, "Eva", last, HOSTILE)
    login(page, local_stack)

    item = inbox_item(page, conversation["id"])
    expect(item.locator(".conv-preview")).to_have_text(HOSTILE)
    expect(item.locator(".conv-name")).to_have_text(f"Eva {last}")
    open_conversation(page, conversation["id"])

    expect(page.locator(".msg.in .msg-text")).to_have_text([HOSTILE])
    expect(page.locator("#conversation-title")).to_have_text(f"Eva {last}")
    assert page.locator('#messages img[src="x"], #messages b, #messages script, .conv-name i').count() == 0
    assert page.evaluate("window.__xss") is None
    shoot(page, screenshots, "10-hostile-text")


def test_new_webhook_messages_appear_without_reloading(page: Page, local_stack: LocalStackClient) -> None:
    psid, conversation = messenger_conversation(local_stack, "Bruno", f"Salas{unique_letters()}", "Hola 👋")
    login(page, local_stack)
    open_conversation(page, conversation["id"])
    expect(page.locator(".msg.in .msg-text")).to_have_text(["Hola 👋"])

    post_webhook(local_stack, messenger_text(psid, "¿Sigue disponible la blusa roja? 🙏"))

    # Polling runs every few seconds and on focus; focus makes the test independent of the period.
    def focus_until_shown() -> None:
        page.evaluate("window.dispatchEvent(new Event('focus'))")

    focus_until_shown()
    messages = page.locator(".msg.in .msg-text")
    expect(messages).to_have_count(2, timeout=15_000)
    expect(messages).to_have_text(["Hola 👋", "¿Sigue disponible la blusa roja? 🙏"])
    expect(inbox_item(page, conversation["id"]).locator(".conv-preview")).to_have_text(
        "¿Sigue disponible la blusa roja? 🙏"
    )


def test_composer_says_sending_is_not_available_while_the_route_is_missing(
    page: Page, local_stack: LocalStackClient
) -> None:
    _, conversation = messenger_conversation(local_stack, "Iris", f"Lara{unique_letters()}", "¿Hacen envíos?")
    missing = json.dumps({"error": {"code": "route_not_found", "message": "No such route", "details": None}})

    def no_send_route(route: Route) -> None:
        if route.request.method == "POST":
            route.fulfill(status=404, content_type="application/json", body=missing)
        else:
            route.fallback()

    page.route("**/v1/conversations/*/messages", no_send_route)
    login(page, local_stack)
    open_conversation(page, conversation["id"])

    composer = page.get_by_role("textbox", name="Escribe una respuesta")
    composer.fill("Sí, a todo México 🚚")
    page.get_by_role("button", name="Enviar").click()

    expect(page.locator(".composer-notice")).to_have_text("El envío de mensajes aún no está disponible.")
    expect(composer).to_have_value("Sí, a todo México 🚚")  # nothing typed is lost


def test_composer_sends_through_the_api_or_explains_why_not(
    page: Page, local_stack: LocalStackClient
) -> None:
    """Against the real API: once POST /v1/conversations/{id}/messages exists the reply shows up in
    the conversation; before that, the notice."""
    _, conversation = messenger_conversation(
        local_stack, "Omar", f"Vega{unique_letters()}", "¿Tienen talla M?"
    )
    login(page, local_stack)
    open_conversation(page, conversation["id"])

    page.get_by_role("textbox", name="Escribe una respuesta").fill("Sí, tenemos talla M 👕")
    page.keyboard.press("Enter")

    sent = page.locator(".msg.out").filter(has_text="Sí, tenemos talla M 👕")
    unavailable = page.locator(".composer-notice").filter(
        has_text="El envío de mensajes aún no está disponible."
    )
    expect(sent.or_(unavailable)).to_have_count(1)
    if sent.count():
        expect(sent.locator(".msg-origin")).to_have_text("Agente")
        expect(sent.locator(".status-mark")).to_have_attribute(
            "aria-label", re.compile(r"^(En cola|Enviando|Enviado|Entregado|Leído)$")
        )
        expect(page.get_by_role("textbox", name="Escribe una respuesta")).to_have_value("")


RICH_SAMPLES = [
    "messenger/text.json",
    "messenger/attachment_image.json",
    "messenger/attachment_audio.json",
    "messenger/attachment_file.json",
    "messenger/attachment_location.json",
    "messenger/echo_our_app.json",
    "messenger/reaction_react.json",
    "messenger/message_edit.json",
    "messenger/read.json",
]


def test_attachments_edits_reactions_and_ticks(
    page: Page, local_stack: LocalStackClient, screenshots: Path
) -> None:
    psid = "79" + unique_digits(14)
    set_profile(local_stack, psid, "Lucía", f"Mora{unique_letters()}")
    now_ms = int(time.time() * 1000) - 2_000
    prefix = f"m_e2e{uuid.uuid4().hex}"
    for path in RICH_SAMPLES:
        post_webhook(local_stack, rebased(path, psid, prefix, now_ms))

    def conversation_complete() -> dict | None:
        found = api_json(local_stack.call("GET", "/v1/conversations", role="agent", params={"limit": 100}))
        conversation = next((item for item in found["items"] if item["handle"] == psid), None)
        if conversation is None:
            return None
        path = f"/v1/conversations/{conversation['id']}/messages"
        messages = api_json(local_stack.call("GET", path, role="agent"))["items"]
        done = len(messages) == 6 and messages[0]["edits"] and messages[-1]["reactions"]
        return conversation if done and messages[-1]["status"] == "read" else None

    conversation = wait_until(conversation_complete, "the replayed Messenger samples")
    login(page, local_stack)
    open_conversation(page, conversation["id"])

    edited = page.locator(".msg.in").first
    expect(edited.locator(".msg-text")).to_have_text("Hola 👋 ¿tienen envíos a Guadalajara?")
    edited.get_by_text("Editado").click()  # the history opens on click (and shows on hover)
    expect(edited.locator(".edit-text")).to_have_text(
        "Hola 👋 ¿tienen envíos a Monterrey? 👩‍👩‍👧‍👦 café con leche ☕ — مرحبا بكم، שלום"
    )
    image = page.locator('.attachment[data-type="image"]')
    expect(image.locator("a > img")).to_have_attribute(
        "src", re.compile(r"^https://scontent\.xx\.fbcdn\.net/")
    )
    expect(image.get_by_text("Imagen (no disponible)")).to_be_visible()  # the CDN is unreachable here
    audio = page.locator('.attachment[data-type="audio"]')
    expect(audio.get_by_role("link", name="Descargar")).to_have_attribute("href", re.compile(r"audioclip"))
    expect(page.get_by_role("link", name="cotizacion_junio.pdf")).to_be_visible()
    location = page.locator('.attachment[data-type="location"]')
    expect(location).to_contain_text("Ubicación de María")
    expect(location).to_contain_text("19.43260, -99.13320")
    expect(location.get_by_role("link", name="Ver en el mapa")).to_be_visible()
    reply = page.locator(".msg.out")
    expect(reply.locator(".msg-origin")).to_have_text("Enviado desde Inbox CRM")
    expect(reply.get_by_role("img", name="Leído")).to_be_visible()
    expect(reply.get_by_role("list", name="Reacciones")).to_have_text("❤️")
    shoot(page, screenshots, "11-rich-messages")
    reply.scroll_into_view_if_needed()
    shoot(page, screenshots, "12-reply-read-and-reaction")


def test_an_unknown_outcome_is_shown_and_sent_again_only_on_the_agents_click(
    page: Page, local_stack: LocalStackClient
) -> None:
    """Meta's answer to a reply was lost: the agent sees it and decides; nothing retries by itself."""
    _, conversation = messenger_conversation(
        local_stack, "Rita", f"Soto{unique_letters()}", "¿Llegó mi pedido?"
    )
    state = {"status": "unknown", "retries": 0}

    def ours(inbound: dict) -> dict:
        extra = {"status": "sent", "error_code": None, "error_reason": None}
        if state["status"] == "unknown":
            extra = {
                "status": "unknown",
                "error_code": "outcome_unknown",
                "error_reason": "Meta may or may not…",
            }
        return {
            **inbound,
            "id": "msg_unknown_e2e",
            "platform_message_id": None,
            "direction": "outbound",
            "origin": "agent",
            "text": "Sí, sale hoy 📦",
            **extra,
        }

    def messages(route: Route) -> None:
        if route.request.method == "GET":
            body = route.fetch().json()
            if body["items"]:
                body["items"] = [*body["items"], ours(body["items"][-1])]
            route.fulfill(status=200, content_type="application/json", body=json.dumps(body))
        else:
            route.fallback()

    def retry(route: Route) -> None:
        state["retries"] += 1
        state["status"] = "sent"
        inbound = api_json(
            local_stack.call("GET", f"/v1/conversations/{conversation['id']}/messages", role="agent")
        )
        route.fulfill(
            status=200, content_type="application/json", body=json.dumps(ours(inbound["items"][-1]))
        )

    page.route(re.compile(r".*/v1/conversations/[^/]+/messages(\?.*)?$"), messages)
    page.route("**/messages/msg_unknown_e2e/retry", retry)
    login(page, local_stack)
    open_conversation(page, conversation["id"])

    reply = page.locator(".msg.out").filter(has_text="Sí, sale hoy 📦")
    expect(reply.get_by_role("img", name="Estado desconocido")).to_be_visible()
    expect(reply.locator(".msg-unknown")).to_contain_text("Puede que el cliente lo haya recibido o no.")
    button = reply.get_by_role("button", name="Estado desconocido — reintentar")
    expect(button).to_be_visible()
    assert state["retries"] == 0  # never automatic
    button.click()
    expect(reply.get_by_role("img", name="Enviado")).to_be_visible()
    expect(reply.locator(".msg-unknown")).to_have_count(0)
    assert state["retries"] == 1
