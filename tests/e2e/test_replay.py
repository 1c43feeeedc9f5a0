"""`inbox-local replay` posts a webhook body signed over its exact bytes, as Meta does."""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from inbox_local.httpbase import LoopbackServer
from inbox_local.replay import replay

pytestmark = pytest.mark.e2e

APP_SECRET = "replay-test-secret"


class SignatureCheckingHandler(BaseHTTPRequestHandler):
    received: list[tuple[bytes, bool]] = []  # noqa: RUF012 - one server per test, reset by the fixture

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        expected = "sha256=" + hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
        valid = hmac.compare_digest(expected, self.headers.get("X-Hub-Signature-256", ""))
        valid = valid and self.headers.get("Content-Type") == "application/json"
        self.received.append((body, valid))
        self.send_response(200 if valid else 403)
        self.send_header("Content-Length", "14")
        self.end_headers()
        self.wfile.write(b"EVENT_RECEIVED")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def webhook_url() -> Iterator[str]:
    SignatureCheckingHandler.received = []
    server = LoopbackServer("127.0.0.1", 0, SignatureCheckingHandler)
    server.start("fake-webhook")
    yield f"{server.url}/webhooks/meta"
    server.stop()


def test_body_is_serialised_like_meta_and_signed(webhook_url: str, tmp_path: Path) -> None:
    document = {
        "object": "page",
        "entry": [{"id": "1", "messaging": [{"message": {"text": "café ☕ https://x.y/z"}}]}],
    }
    path = tmp_path / "delivery.json"
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")

    status, text = replay(path, webhook_url, APP_SECRET)

    assert (status, text) == (200, "EVENT_RECEIVED")
    ((body, valid),) = SignatureCheckingHandler.received
    assert valid
    assert body.decode("ascii") == (
        '{"object":"page","entry":[{"id":"1","messaging":[{"message":'
        '{"text":"caf\\u00e9 \\u2615 https:\\/\\/x.y\\/z"}}]}]}'
    )
    assert json.loads(body) == document


def test_a_raw_body_in_a_wrapper_is_sent_byte_for_byte(webhook_url: str, tmp_path: Path) -> None:
    raw = '{"object": "whatsapp_business_account", "entry": []}'
    path = tmp_path / "envelope.json"
    path.write_text(json.dumps({"headers": {}, "body": raw}), encoding="utf-8")

    status, _ = replay(path, webhook_url, APP_SECRET)

    assert status == 200
    assert SignatureCheckingHandler.received == [(raw.encode(), True)]


def test_a_wrong_secret_is_refused(webhook_url: str, tmp_path: Path) -> None:
    path = tmp_path / "delivery.json"
    path.write_text(json.dumps({"object": "page", "entry": []}), encoding="utf-8")

    status, _ = replay(path, webhook_url, "another-secret")

    assert status == 403
