"""The quality bar, walked as an agent, a manager and an owner: every section the role may use (and a
conversation, and a section it may not use) at 1280×800 and 390×844 — screenshots taken, no sideways
scroll, no customer name cut off, no WCAG 2 A/AA violation that axe-core finds, no console error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import ConsoleMessage, Page, expect

from e2e.browser.webapp import login, messenger_conversation, shoot, unique_letters
from e2e.local_stack_support import LocalStackClient

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

VIEWPORTS = [(1280, 800), (390, 844)]
WCAG_AA = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]}}
SECTIONS = {
    "agent": ["inbox", "contacts", "broadcasts"],
    "manager": ["inbox", "contacts", "flows", "broadcasts", "settings"],
    "owner": ["inbox", "contacts", "flows", "broadcasts", "settings"],
}
FORBIDDEN = {"agent": ["flows", "settings"], "manager": [], "owner": []}
AXE = Axe()


def violations(page: Page) -> list[dict[str, Any]]:
    found = AXE.run(page, options=WCAG_AA).response["violations"]
    return [
        {"rule": item["id"], "impact": item["impact"], "where": [n["target"] for n in item["nodes"][:5]]}
        for item in found
    ]


def sideways(page: Page) -> bool:
    return bool(page.evaluate("document.scrollingElement.scrollWidth > innerWidth"))


def cut_names(page: Page, selector: str) -> list[str]:
    """Names shown (visible) whose text does not fit their box: an ellipsis or a clip hides part."""
    return page.locator(selector).evaluate_all(
        "els => els.filter(e => e.offsetParent && e.scrollWidth > e.clientWidth).map(e => e.textContent)"
    )


@pytest.mark.parametrize("role", ["agent", "manager", "owner"])
def test_each_screen_of_each_role_meets_the_quality_bar(
    page: Page, local_stack: LocalStackClient, screenshots: Path, role: str
) -> None:
    name = f"Lucía {unique_letters(5).capitalize()}"
    _, conversation = messenger_conversation(local_stack, *name.split(), "¿Tienen la blusa en talla M? 🙏")
    console: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            console.append(f"{message.text} {message.location.get('url', '')}")

    page.on("console", on_console)
    login(page, local_stack, role)
    problems: dict[str, Any] = {}
    row = f'.conv-item[data-conversation-id="{conversation["id"]}"]'

    for width, height in VIEWPORTS:
        page.set_viewport_size({"width": width, "height": height})
        screens = [(f"/app/{section}", "heading") for section in SECTIONS[role]]
        screens.append((f"/app/inbox/{conversation['id']}", "conversation"))
        screens += [(f"/app/{section}", "forbidden") for section in FORBIDDEN[role]]
        for path, shows in screens:
            page.goto(f"{local_stack.url}{path}")
            if shows == "heading":
                expect(page.get_by_role("heading", level=1)).to_be_visible()
                expect(page.locator('[data-state="loading"]:visible')).to_have_count(0)
            elif shows == "conversation":
                expect(page.locator("#conversation-title")).to_have_text(name)
                expect(page.locator(".msg.in")).to_have_count(1)
            else:
                expect(page.locator('[data-state="forbidden"]')).to_be_visible()
            screen = f"{role}{path.replace('/', '-').replace(conversation['id'], 'conversation')}-{width}"
            shoot(page, screenshots, f"quality-{screen}")
            found = {
                "sideways scroll": sideways(page),
                "cut names": cut_names(page, f"#conversation-title, {row} .conv-name, .contact-name"),
                "axe": violations(page),
            }
            found = {key: value for key, value in found.items() if value}
            if found:
                problems[screen] = found

    assert not problems, problems
    assert not console, f"console errors: {console}"
