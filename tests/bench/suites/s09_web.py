"""The web app in Chromium against the local stack holding 1,000 open conversations: how long until
the first inbox rows show (a reload of /app/inbox, page and API included), and how long from a click
on a row until its messages show. Reported, never asserted (issue 13)."""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

PAGE = "100000000000001"  # the demo Page the local stack seeds
CONVERSATIONS = int(os.environ.get("WEB_BENCH_CONVERSATIONS", "1000"))
BATCH = 100
RUNS = 5
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))


def _post_senders(session: requests.Session, url: str, secret: str, first: int, count: int) -> None:
    now = int(time.time() * 1000)
    events = [
        {
            "sender": {"id": f"76{n:014d}"},
            "recipient": {"id": PAGE},
            "timestamp": now + n,
            "message": {"mid": f"m_webbench_{n}", "text": f"Hola, ¿tienen envío a domicilio? ({n})"},
        }
        for n in range(first, first + count)
    ]
    raw = json.dumps({"object": "page", "entry": [{"id": PAGE, "messaging": events}]}).encode()
    signature = "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()
    headers = {"X-Hub-Signature-256": signature, "Content-Type": "application/json"}
    assert session.post(url, data=raw, headers=headers, timeout=60).status_code == 200


def _open_conversations(stack: Any) -> int:
    count, cursor = 0, None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = stack.call("GET", "/v1/conversations", role="owner", params=params).json()
        count += len(page["items"])
        cursor = page.get("next_cursor")
        if not cursor:
            return count


def _summary(operation: str, timings: list[float], **extra: Any) -> dict[str, Any]:
    return {
        "operation": operation,
        "runs": len(timings),
        "p50_ms": round(statistics.median(timings), 1),
        "max_ms": round(max(timings), 1),
        **extra,
    }


def run() -> list[dict[str, Any]]:
    if not CHROMIUM.exists():
        return [{"operation": "web: first inbox rows", "skipped": f"{CHROMIUM} missing (make browser-deps)"}]
    from playwright.sync_api import sync_playwright

    from e2e.local_stack_support import E2E_APP_SECRET, client_for, start_stack

    with tempfile.TemporaryDirectory() as data_dir:
        stack_process = start_stack(Path(data_dir))
        try:
            stack = client_for(stack_process)
            session = requests.Session()
            for first in range(0, CONVERSATIONS, BATCH):
                _post_senders(session, f"{stack.url}/webhooks/meta", E2E_APP_SECRET, first, BATCH)
            # Listed is enough (profile enrichment may go on); a loaded machine takes minutes.
            deadline = time.monotonic() + 1800
            while _open_conversations(stack) < CONVERSATIONS:
                assert time.monotonic() < deadline, "the conversations were not ingested in 30 minutes"
                time.sleep(2)

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox", "--disable-gpu"]
                )
                page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="es-MX")
                page.goto(f"{stack.url}/")
                page.get_by_role("button", name="Entrar como demo: Propietario").click()
                page.wait_for_selector(".conv-item")

                first_rows = []
                for _ in range(RUNS):
                    started = time.perf_counter()
                    page.reload()
                    page.wait_for_selector(".conv-item")
                    first_rows.append((time.perf_counter() - started) * 1000)

                opened = []
                for index in range(RUNS):
                    row = page.locator(".conv-item a").nth(index + 1)
                    started = time.perf_counter()
                    row.click()
                    page.wait_for_selector(".msg.in")
                    opened.append((time.perf_counter() - started) * 1000)
                    page.keyboard.press("Escape")
                    page.wait_for_selector("#conversation-view", state="hidden")
                browser.close()
        finally:
            stack_process.stop()
    return [
        _summary(
            f"web: first inbox rows after a reload, {CONVERSATIONS} open conversations (Chromium)",
            first_rows,
            conversations=CONVERSATIONS,
        ),
        _summary("web: open a conversation, click to its messages shown (Chromium, local stack)", opened),
    ]
