"""The inbox list as agents use it all day: polling merges updates into every row loaded (it never
cuts the list back to 100 nor drops a page being loaded), the keyboard walks and opens rows, and the
tab title counts the conversations waiting to be read."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, Route, expect

from e2e.browser.webapp import (
    inbox_item,
    login,
    messenger_batch,
    messenger_conversation,
    messenger_text,
    poll_now,
    post_webhook,
    unique_digits,
    unique_letters,
    wait_until,
)
from e2e.local_stack_support import LocalStackClient, client_for, start_stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

ROWS = ".conv-item"


@pytest.fixture
def crowded_stack(tmp_path: Path) -> Iterator[LocalStackClient]:
    """A stack of its own: 130 new senders would keep the shared stack's queues busy for the tests
    that come after."""
    stack = start_stack(tmp_path / "data")
    try:
        yield client_for(stack)
    finally:
        assert stack.stop() == 0, stack.log_tail()


def settled(stack: LocalStackClient, handles: set[str]) -> bool:
    """All of them ingested and enriched (named): the stack's queues are drained again, so the
    tests after this one do not wait behind the batch."""
    found = conversations_of(stack, handles)
    return len(found) == len(handles) and all(item["display_name"] for item in found)


def conversations_of(stack: LocalStackClient, handles: set[str]) -> list[dict[str, Any]]:
    """Every open conversation whose sender is one of handles (paging the API)."""
    found, cursor = [], None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = stack.call("GET", "/v1/conversations", role="agent", params=params).json()
        found += [item for item in page["items"] if item["handle"] in handles]
        cursor = page.get("next_cursor")
        if not cursor:
            return found


def test_polling_keeps_every_row_loaded_beyond_the_first_hundred(
    page: Page, crowded_stack: LocalStackClient
) -> None:
    psids = ["78" + unique_digits(14) for _ in range(130)]
    post_webhook(crowded_stack, messenger_batch(psids, f"Pedido {unique_letters()}"))
    wait_until(lambda: settled(crowded_stack, set(psids)), "130 named conversations", seconds=240)
    login(page, crowded_stack)
    rows = page.locator(ROWS)
    expect(rows).to_have_count(25)

    # A poll answered while the next page is still on its way keeps that page.
    held: list[Route] = []

    def hold(route: Route) -> None:  # answered later, by the test
        held.append(route)

    next_page = re.compile(r"/v1/conversations\?.*cursor=")
    page.route(next_page, hold)
    page.get_by_role("button", name="Cargar más").click()
    wait_until(lambda: held, "the next page's request")
    with page.expect_response(re.compile(r"/v1/conversations\?(?!.*cursor=)")):
        poll_now(page)
    held[0].continue_()
    expect(rows).to_have_count(50)
    page.unroute(next_page)

    while rows.count() < 125:
        before = rows.count()
        page.get_by_role("button", name="Cargar más").click()
        expect(rows).to_have_count(before + 25)
    loaded = rows.count()

    # The oldest loaded conversation gets a new message: polling moves it to the top, the rest stays.
    oldest_id = rows.nth(loaded - 1).get_attribute("data-conversation-id")
    batch = conversations_of(crowded_stack, set(psids))
    oldest_handle = next(item for item in batch if item["id"] == oldest_id)["handle"]
    post_webhook(crowded_stack, messenger_text(oldest_handle, "¿Ya salió mi pedido?"))

    def moved_to_top() -> bool:
        poll_now(page)
        return rows.first.get_attribute("data-conversation-id") == oldest_id

    wait_until(moved_to_top, "the poll to move the conversation to the top", seconds=60)
    expect(inbox_item(page, oldest_id).locator(".conv-preview")).to_have_text("¿Ya salió mi pedido?")
    assert rows.count() == loaded
    poll_now(page)
    page.wait_for_timeout(500)
    assert rows.count() == loaded


def test_the_keyboard_walks_opens_and_leaves_conversations(page: Page, local_stack: LocalStackClient) -> None:
    _, older = messenger_conversation(local_stack, "Tere", f"Luna{unique_letters()}", "Primero")
    _, newer = messenger_conversation(local_stack, "Ulises", f"Mar{unique_letters()}", "Segundo")
    login(page, local_stack)
    first_link = page.locator(f"{ROWS} a").first
    expect(first_link).to_have_attribute("href", f"/app/inbox/{newer['id']}")

    first_link.focus()
    page.keyboard.press("ArrowDown")
    expect(inbox_item(page, older["id"]).get_by_role("link")).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(inbox_item(page, newer["id"]).get_by_role("link")).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{local_stack.url}/app/inbox/{older['id']}")
    expect(page.locator("#conversation-title")).to_have_text(older["display_name"])

    page.keyboard.press("Escape")
    expect(page).to_have_url(f"{local_stack.url}/app/inbox")
    expect(page.locator("#conversation-view")).to_be_hidden()
    expect(inbox_item(page, older["id"]).get_by_role("link")).to_be_focused()

    # Esc while typing a reply leaves the conversation open.
    page.keyboard.press("Enter")
    page.locator("#composer-text").click()
    page.keyboard.press("Escape")
    expect(page).to_have_url(f"{local_stack.url}/app/inbox/{older['id']}")


def test_the_tab_title_counts_unread_conversations(page: Page, local_stack: LocalStackClient) -> None:
    login(page, local_stack)
    expect(page).to_have_title(re.compile(r"^(\(\d+\) )?Bandeja de entrada · Inbox CRM$"))
    before = page.locator(f"{ROWS}.has-unread").count()
    messenger_conversation(local_stack, "Vera", f"Sol{unique_letters()}", "¿Tienen talla M?")

    def counted() -> bool:
        poll_now(page)
        unread = page.locator(f"{ROWS}.has-unread").count()
        return unread > before and page.title() == f"({unread}) Bandeja de entrada · Inbox CRM"

    wait_until(counted, "the unread count in the tab title")
    page.get_by_role("link", name="Contactos").click()
    expect(page).to_have_title(re.compile(r"^\(\d+\) Contactos · Inbox CRM$"))
