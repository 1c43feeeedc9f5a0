"""The one Graph API client: explicit timeouts, retries with backoff on 5xx and rate limits only.

Policy errors (window closed, retired tags, private-reply limits) and auth errors are never
retried: they are raised as GraphError carrying Meta's code, subcode and message.

A POST (a send) is retried only when it provably never reached Meta: the connection was refused,
the name did not resolve, the connect timed out, or Meta refused it with a rate-limit code. A read
timeout, a dropped connection or a 5xx after the request left may mean Meta accepted it: that is
raised with ``maybe_delivered`` and never retried here (the caller records an unknown outcome).
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any, Protocol

import requests
from urllib3.exceptions import MaxRetryError, NewConnectionError

from inbox_crm.core.observability import logger
from inbox_crm.core.settings import Settings, get_settings

# Meta's throttling codes: app / page / account / pair rate limits and WhatsApp throughput.
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80001, 80002, 80006, 80007, 130429, 131056})
AUTH_CODES = frozenset({190, 102})


class GraphError(Exception):
    def __init__(
        self,
        status: int,
        code: int | None,
        subcode: int | None,
        message: str,
        error_type: str | None = None,
        trace_id: str | None = None,
    ) -> None:
        super().__init__(f"Graph API error {code}/{subcode} (HTTP {status}): {message}")
        self.status = status
        self.code = code
        self.subcode = subcode
        self.message = message
        self.error_type = error_type
        self.trace_id = trace_id
        # True when a request that changes something may have been accepted by Meta.
        self.maybe_delivered = False

    @property
    def is_rate_limit(self) -> bool:
        return self.code in RATE_LIMIT_CODES

    @property
    def is_auth(self) -> bool:
        return self.code in AUTH_CODES

    @property
    def retryable(self) -> bool:
        if self.maybe_delivered:
            return False
        return self.status >= 500 or self.is_rate_limit or self.status == 0

    @classmethod
    def from_response(cls, response: requests.Response) -> GraphError:
        try:
            error = response.json().get("error") or {}
        except ValueError:
            error = {}
        return cls(
            status=response.status_code,
            code=error.get("code"),
            subcode=error.get("error_subcode"),
            message=str(error.get("error_user_msg") or error.get("message") or response.reason or "error"),
            error_type=error.get("type"),
            trace_id=error.get("fbtrace_id"),
        )


def never_left(error: requests.RequestException) -> bool:
    """True when the request provably never reached the server: no connection was made."""
    if isinstance(error, requests.ConnectTimeout):
        return True
    if isinstance(error, requests.ConnectionError) and not isinstance(error, requests.Timeout):
        reason = error.args[0] if error.args else None
        if isinstance(reason, MaxRetryError):
            reason = reason.reason
        return isinstance(reason, NewConnectionError)  # refused, unreachable or DNS failure
    return False


class Graph(Protocol):
    """What use cases need of the Graph API (``GraphClient`` in production, a fake in tests)."""

    def request(
        self,
        method: str,
        path: str,
        token: str | None,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        max_attempts: int | None = None,
    ) -> dict[str, Any]: ...

    def download(self, url: str, token: str | None, max_bytes: int = ...) -> tuple[bytes, str]: ...

    def get_profile(self, platform: str, user_id: str, token: str | None) -> dict[str, Any]: ...


class _Shared:
    settings: Settings | None = None
    client: GraphClient | None = None


@dataclass
class GraphClient:
    base_url: str
    version: str
    timeout_seconds: float = 5.0
    max_attempts: int = 3
    backoff_seconds: float = 0.5
    session: requests.Session | None = None

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> GraphClient:
        settings = settings or get_settings()
        return cls(
            base_url=settings.graph_api_base_url.rstrip("/"),
            version=settings.graph_api_version,
            timeout_seconds=settings.graph_timeout_seconds,
        )

    @classmethod
    def shared(cls) -> GraphClient:
        """One client per container (and settings): its session keeps Meta's connection open from one
        send to the next, where a client per send paid a new TCP and TLS handshake every time."""
        settings = get_settings()
        if _Shared.settings is not settings or _Shared.client is None:
            _Shared.settings, _Shared.client = settings, cls.from_settings(settings)
        return _Shared.client

    def _session(self) -> requests.Session:
        if self.session is None:
            self.session = requests.Session()
        return self.session

    def request(
        self,
        method: str,
        path: str,
        token: str | None,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        max_attempts: int | None = None,
    ) -> dict[str, Any]:
        url = f"{self.base_url}/{self.version}/{path.lstrip('/')}"
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        attempts = max_attempts or self.max_attempts
        safe = method.upper() in ("GET", "HEAD")
        for attempt in range(1, attempts + 1):
            try:
                response = self._session().request(
                    method, url, params=params, json=json, headers=headers, timeout=self.timeout_seconds
                )
            except requests.RequestException as error:
                failure = GraphError(0, None, None, f"network error: {type(error).__name__}")
                failure.maybe_delivered = not safe and not never_left(error)
            else:
                if response.status_code < 400:
                    try:
                        return response.json() if response.content else {}
                    except ValueError:
                        failure = GraphError(response.status_code, None, None, "unreadable response")
                        failure.maybe_delivered = not safe
                else:
                    failure = GraphError.from_response(response)
                    # Meta may fail after accepting a message; a rate limit is a refusal.
                    failure.maybe_delivered = not safe and failure.status >= 500 and not failure.is_rate_limit
            if not failure.retryable or attempt == attempts:
                raise failure
            delay = self.backoff_seconds * (2 ** (attempt - 1)) * (0.5 + random.random())  # noqa: S311
            logger.info(
                "graph call retried",
                extra={"code": failure.code, "status": failure.status, "attempt": attempt},
            )
            time.sleep(delay)
        raise AssertionError("unreachable")

    def download(self, url: str, token: str | None, max_bytes: int = 100 * 1024 * 1024) -> tuple[bytes, str]:
        """Media bytes and content type from a Graph media URL (the download needs the token too)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            response = self._session().get(
                url, headers=headers, timeout=self.timeout_seconds * 6, stream=True
            )
        except requests.RequestException as error:
            raise GraphError(0, None, None, f"network error: {type(error).__name__}") from error
        if response.status_code >= 400:
            raise GraphError.from_response(response)
        body = response.raw.read(max_bytes + 1, decode_content=True)
        if len(body) > max_bytes:
            raise GraphError(413, None, None, "media larger than we copy")
        return body, response.headers.get("Content-Type", "application/octet-stream")

    def get_profile(self, platform: str, user_id: str, token: str | None) -> dict[str, Any]:
        """Messenger: first/last name and picture. Instagram: name, username and picture."""
        fields = (
            "name,username,profile_pic" if platform == "instagram" else "first_name,last_name,profile_pic"
        )
        # One attempt: enrichment is retried by its event's retry policy, never inline.
        return self.request("GET", user_id, token, params={"fields": fields}, max_attempts=1)
