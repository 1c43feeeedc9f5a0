"""The stdlib HTTP plumbing shared by the gateway and the Graph API stand-in."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar


class BodyTooLarge(Exception):
    pass


class LoopbackServer(ThreadingHTTPServer):
    """A threaded server on one port (0 picks a free one), served from a daemon thread."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, host: str, port: int, handler: type[BaseHTTPRequestHandler]) -> None:
        try:
            super().__init__((host, port), handler)
        except OSError as error:
            raise OSError(error.errno, f"cannot listen on {host}:{port}: {error.strerror}") from error
        self.host = host
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, name: str) -> None:
        # The poll interval is how long stop() waits for the serving loop to notice.
        self._thread = threading.Thread(target=self.serve_forever, args=(0.1,), name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
        self.server_close()


class JsonRequestHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive with exact Content-Length, and without Nagle's algorithm: without it every
    keep-alive request waits ~40 ms for the delayed ACK of the previous response."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    timeout = 120  # idle keep-alive connections are dropped rather than kept forever
    max_body_bytes: ClassVar[int] = 10 * 1024 * 1024

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: each server logs its own concise line (the default echoes the query string)."""

    def read_body(self) -> bytes:
        """The request body (Content-Length or chunked), BodyTooLarge past ``max_body_bytes``."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.max_body_bytes:
            raise BodyTooLarge
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > self.max_body_bytes:
                raise BodyTooLarge
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def send_bytes(
        self,
        status: int,
        body: bytes,
        headers: list[tuple[str, str]] | None = None,
        content_type: str | None = None,
    ) -> None:
        self.send_response(status)
        names = {name.lower() for name, _ in headers or []}
        if content_type and "content-type" not in names:
            self.send_header("Content-Type", content_type)
        for name, value in headers or []:
            if name.lower() not in {"content-length", "connection", "transfer-encoding"}:
                self.send_header(name, value)
        bodiless = status in (204, 304) or 100 <= status < 200
        if not bodiless:  # HTTP forbids Content-Length on 1xx and 204
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not bodiless and self.command != "HEAD":
            self.wfile.write(body)

    def send_json(self, status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> None:
        body = json.dumps(payload, separators=(",", ":")).encode("utf-8")
        self.send_bytes(status, body, headers, content_type="application/json")
