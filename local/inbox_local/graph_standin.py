"""A loopback stand-in for Meta's Graph API: records what would have been sent and answers like Meta.

Graph routes (``/{version}/...``):

* ``POST /{v}/{id}/messages``: Messenger / Instagram ``{"recipient_id", "message_id": "m_…"}``;
  WhatsApp (``messaging_product: whatsapp``) ``{"messaging_product", "contacts",
  "messages": [{"id": "wamid.…"}]}`` (``{"success": true}`` for a read receipt).
* ``GET /{v}/{id}?fields=…``: a user profile (Messenger first/last name, Instagram name/username),
  from the profile table or derived from the id. Without ``fields``: WhatsApp media metadata whose
  ``url`` downloads from ``/_media/{id}`` here.
* Ownership, for the accounts granted through ``/_control/grants`` (the only tokens it treats as
  real): ``GET /{v}/{page-id}?fields=id,name,access_token`` answers the Page and its token;
  ``GET /{v}/debug_token?input_token=…`` the token's ``granular_scopes`` (``pages_messaging``,
  ``instagram_manage_messages``, ``whatsapp_business_messaging`` / ``_management`` with their
  ``target_ids``); ``GET /{v}/{waba-id}/phone_numbers`` the WABA's numbers. As Meta: an unknown token
  is error 190, an unknown object 100 (subcode 33), a known object the token may not act for 10.
* Other writes answer ``{"success": true}`` or a new id, other reads ``{"data": []}``.
* A call without an access token (header or ``access_token`` parameter) gets Meta's error 2500.

Control routes (never recorded): ``GET|DELETE /_control/requests``, ``POST|DELETE /_control/fail``,
``GET|POST /_control/profiles``, ``GET|POST|DELETE /_control/grants`` (POST ``{"token", "platform",
"account_id", "name", "waba_id"}``: the token may act for that account).
"""

from __future__ import annotations

import hashlib
import json
import logging
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from inbox_local.faults import Faults, graph_error, graph_fault
from inbox_local.graph_answers import (
    INVALID_TOKEN,
    NO_PERMISSION,
    PIXEL_PNG,
    SCOPES,
    Grant,
    default_profile,
    meta_error,
    parse_body,
    send_response,
    trace_id,
    unknown_object,
)
from inbox_local.httpbase import BodyTooLarge, JsonRequestHandler, LoopbackServer

log = logging.getLogger("inbox_local.graph")


@dataclass
class FailureRule:
    """Answer the next ``times`` matching calls (None: until cleared) with Meta's error shape."""

    method: str | None
    path_contains: str | None
    body_contains: str | None
    status: int
    error: dict[str, Any]
    times: int | None

    def matches(self, method: str, path: str, raw_body: str) -> bool:
        return (
            (self.method is None or self.method == method)
            and (self.path_contains is None or self.path_contains in path)
            and (self.body_contains is None or self.body_contains in raw_body)
        )


class GraphStandIn:
    """The stand-in's state and server. ``GraphStandIn(port=0).start()`` picks a free port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._lock = threading.Lock()
        self._requests: list[dict[str, Any]] = []
        self._failures: list[FailureRule] = []
        self._profiles: dict[str, dict[str, Any]] = {}
        self.faults: Faults | None = None  # the stack's fault mode (faults.py)
        self._grants: list[Grant] = []
        self._server = LoopbackServer(host, port, _handler_for(self))

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> GraphStandIn:
        self._server.start("graph-standin")
        return self

    def stop(self) -> None:
        self._server.stop()

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        return self._server.url

    # ------------------------------------------------------------------ control
    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(entry) for entry in self._requests]

    def clear_requests(self) -> None:
        with self._lock:
            self._requests.clear()

    def fail(
        self,
        *,
        status: int = 400,
        error: dict[str, Any] | None = None,
        method: str | None = None,
        path_contains: str | None = None,
        body_contains: str | None = None,
        times: int | None = 1,
    ) -> None:
        body = dict(error or {})
        body.setdefault("message", "(#100) Injected by the local Graph stand-in")
        body.setdefault("type", "OAuthException")
        body.setdefault("code", 100)
        body.setdefault("fbtrace_id", trace_id())
        rule = FailureRule(
            method=method.upper() if method else None,
            path_contains=path_contains,
            body_contains=body_contains,
            status=status,
            error=body,
            times=times,
        )
        with self._lock:
            self._failures.append(rule)

    def clear_failures(self) -> None:
        with self._lock:
            self._failures.clear()

    def set_profiles(self, profiles: dict[str, dict[str, Any]]) -> None:
        with self._lock:
            self._profiles.update(profiles)

    def profiles(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            return dict(self._profiles)

    def grant(
        self, token: str, platform: str, account_id: str, name: str = "", waba_id: str | None = None
    ) -> None:
        """From now on Meta confirms that ``token`` can act for the account."""
        if platform == "whatsapp" and not waba_id:
            raise ValueError("a WhatsApp number is granted through its WABA: waba_id is required")
        with self._lock:
            self._grants.append(Grant(token, platform, account_id, name or account_id, waba_id))

    def grants(self) -> list[dict[str, Any]]:
        with self._lock:
            return [
                {"platform": g.platform, "account_id": g.account_id, "name": g.name, "waba_id": g.waba_id}
                for g in self._grants
            ]

    def clear_grants(self) -> None:
        with self._lock:
            self._grants.clear()

    def _granted(self, token: str | None) -> list[Grant] | None:
        """The token's grants; None for a token Meta would not know."""
        with self._lock:
            found = [grant for grant in self._grants if grant.token == token]
        return found or None

    def _owned_objects(self) -> dict[str, str]:
        """Every granted account's object id (Page, IG account, WABA) -> its kind."""
        with self._lock:
            return {grant.target_id: grant.platform for grant in self._grants}

    # ------------------------------------------------------------------ Graph behaviour
    def _take_failure(self, method: str, path: str, raw_body: str) -> FailureRule | None:
        with self._lock:
            for rule in self._failures:
                if rule.matches(method, path, raw_body):
                    if rule.times is not None:
                        rule.times -= 1
                        if rule.times <= 0:
                            self._failures.remove(rule)
                    return rule
        return None

    def _record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            entry["id"] = len(self._requests) + 1
            self._requests.append(entry)

    def handle(
        self, method: str, target: str, headers: dict[str, str], raw_body: bytes, fault: str | None = None
    ) -> tuple[int, dict[str, Any] | bytes]:
        """Answer one Graph call and record it (without the token's value). ``fault``: an injected
        server_error or rate_limit answers Meta's error; lost_after_accept is answered normally
        (the caller then drops the connection)."""
        parts = urlsplit(target)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        token_in_query = query.pop("access_token", None)
        bearer = headers.get("authorization", "").strip()
        token = bearer[len("Bearer ") :].strip() if bearer.lower().startswith("bearer ") else token_in_query
        authorized = bool(bearer or token_in_query)
        body = parse_body(headers.get("content-type", ""), raw_body)
        text = raw_body.decode("utf-8", "replace")
        failure = self._take_failure(method, parts.path, text)
        response: dict[str, Any] | bytes
        if failure is not None:
            status, response = failure.status, {"error": dict(failure.error)}
        elif fault in ("server_error", "rate_limit") and self.faults is not None:
            status, response = graph_error(fault, self.faults)
        else:
            status, response = self._answer(method, parts.path, query, body, authorized, token)
        self._record(
            {
                "at": time.time(),
                "method": method,
                "path": parts.path,
                "query": query,
                "headers": {name: value for name, value in headers.items() if name != "authorization"},
                "authorized": authorized,
                "body": body,
                "status": status,
                "response": response if isinstance(response, dict) else None,
                **({"fault": fault} if fault else {}),
            }
        )
        return status, response

    def _answer(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: Any,
        authorized: bool,
        token: str | None = None,
    ) -> tuple[int, dict[str, Any] | bytes]:
        segments = [segment for segment in path.split("/") if segment]
        if segments[:1] == ["_media"] and len(segments) == 2:
            return 200, PIXEL_PNG
        if not authorized:
            return 400, meta_error("An active access token must be used to query information.", 2500)
        if len(segments) < 2:
            return 400, meta_error("Unknown path components", 2500)
        node, edge = segments[1], (segments[2] if len(segments) > 2 else None)
        fields = body if isinstance(body, dict) else {}
        if method == "GET":
            owned = self._ownership(node, edge, query, token)
            if owned is not None:
                return owned
        if method == "POST" and edge == "messages":
            return 200, send_response(fields)
        if method == "GET" and edge is None:
            return 200, self._node(node, query)
        if method == "GET":
            return 200, {"data": [], "paging": {}}
        if method == "POST" and edge in ("comments", "replies"):
            return 200, {"id": f"{node}_{secrets.randbelow(10**15)}"}
        if method == "POST" and edge in ("media", "message_attachments"):
            new_id = str(10**15 + secrets.randbelow(10**15))
            return 200, {"id": new_id} if edge == "media" else {"attachment_id": new_id}
        return 200, {"success": True}

    def _ownership(
        self, node: str, edge: str | None, query: dict[str, str], token: str | None
    ) -> tuple[int, dict[str, Any]] | None:
        """Answers to the calls that prove who may act for an account; None for any other call."""
        wanted = {field.strip() for field in query.get("fields", "").split(",")}
        owned = self._owned_objects()
        if node == "debug_token" and edge is None:
            return 200, self._debug_token(query.get("input_token"))
        asks_page_token = edge is None and "access_token" in wanted
        lists_numbers = edge == "phone_numbers"
        if not (asks_page_token or lists_numbers or (edge is None and node in owned)):
            return None
        grants = self._granted(token)
        if grants is None:
            return 400, INVALID_TOKEN
        if node not in owned or (asks_page_token and owned[node] != "messenger"):
            return 400, unknown_object(node)
        mine = [grant for grant in grants if grant.target_id == node]
        if not mine:
            return 400, NO_PERMISSION
        if lists_numbers:
            return 200, {
                "data": [
                    {"id": g.account_id, "display_phone_number": g.name, "verified_name": g.name}
                    for g in mine
                    if g.platform == "whatsapp"
                ],
                "paging": {},
            }
        grant = mine[0]
        answer: dict[str, Any] = {"id": node, "name": grant.name}
        if grant.platform == "instagram":
            answer["username"] = grant.name.lstrip("@")
        if asks_page_token:
            answer["access_token"] = grant.token  # the Page token of a Page token is itself
        return 200, {key: value for key, value in answer.items() if key in wanted or key == "id"}

    def _debug_token(self, input_token: str | None) -> dict[str, Any]:
        grants = self._granted(input_token)
        if grants is None:
            return {
                "data": {
                    "is_valid": False,
                    "error": {"code": 190, "message": "Invalid OAuth access token."},
                    "scopes": [],
                }
            }
        scopes: dict[str, list[str]] = {}
        for grant in grants:
            for scope in SCOPES[grant.platform]:
                targets = scopes.setdefault(scope, [])
                if grant.target_id not in targets:
                    targets.append(grant.target_id)
        return {
            "data": {
                "app_id": "local-app",
                "type": "USER",
                "application": "Inbox CRM (local)",
                "is_valid": True,
                "expires_at": 0,
                "scopes": sorted(scopes),
                "granular_scopes": [{"scope": scope, "target_ids": ids} for scope, ids in scopes.items()],
            }
        }

    def _node(self, node: str, query: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            configured = self._profiles.get(node)
        if configured is None and "fields" not in query:
            return self._media(node)
        profile = {"id": node, **default_profile(node, self.url), **(configured or {})}
        wanted = [field.strip() for field in query.get("fields", "").split(",") if field.strip()]
        if wanted:
            return {key: value for key, value in profile.items() if key in wanted or key == "id"}
        return profile

    def _media(self, media_id: str) -> dict[str, Any]:
        return {
            "messaging_product": "whatsapp",
            "url": f"{self.url}/_media/{media_id}",
            "mime_type": "image/png",
            "sha256": hashlib.sha256(PIXEL_PNG).hexdigest(),
            "file_size": len(PIXEL_PNG),
            "id": media_id,
        }


def _handler_for(standin: GraphStandIn) -> type[JsonRequestHandler]:
    class GraphHandler(JsonRequestHandler):
        def _dispatch(self) -> None:
            path = urlsplit(self.path).path
            try:
                raw = self.read_body()
            except BodyTooLarge:
                self.close_connection = True
                self.send_json(413, meta_error("(#100) The request body is too large", 100))
                return
            if path.startswith("/_control/"):
                self._control(path, raw)
                return
            headers = {name.lower(): value for name, value in self.headers.items()}
            fault = None if path.startswith("/_media/") else graph_fault(standin.faults, self.command)
            status, response = standin.handle(self.command, self.path, headers, raw, fault)
            if fault == "lost_after_accept":
                # Meta took the call (it is recorded); its answer never arrives.
                self.close_connection = True
                log.info("graph %s %s %d, answer dropped (fault)", self.command, path, status)
                return
            if isinstance(response, bytes):
                self.send_bytes(status, response, content_type="image/png")
            else:
                self.send_json(status, response, [("x-fb-trace-id", trace_id())])
            log.info("graph %s %s %d", self.command, path, status)

        def _control(self, path: str, raw: bytes) -> None:
            try:
                payload = json.loads(raw) if raw else {}
            except ValueError:
                self.send_json(400, {"message": "control bodies are JSON"})
                return
            route = (self.command, path.rstrip("/"))
            if route == ("GET", "/_control/requests"):
                # ?after=N: only the calls numbered above N (pollers read what is new).
                after = int(dict(parse_qsl(urlsplit(self.path).query)).get("after") or 0)
                self.send_json(200, {"requests": [r for r in standin.requests() if r["id"] > after]})
            elif route == ("DELETE", "/_control/requests"):
                standin.clear_requests()
                self.send_json(200, {"cleared": True})
            elif route == ("POST", "/_control/fail"):
                match = payload.get("match") or {}
                standin.fail(
                    status=int(payload.get("status", 400)),
                    error=payload.get("error"),
                    method=match.get("method"),
                    path_contains=match.get("path_contains"),
                    body_contains=match.get("body_contains"),
                    times=payload.get("times", 1),
                )
                self.send_json(200, {"armed": True})
            elif route == ("DELETE", "/_control/fail"):
                standin.clear_failures()
                self.send_json(200, {"cleared": True})
            elif route == ("POST", "/_control/profiles"):
                standin.set_profiles(payload.get("profiles", payload))
                self.send_json(200, {"profiles": standin.profiles()})
            elif route == ("GET", "/_control/profiles"):
                self.send_json(200, {"profiles": standin.profiles()})
            elif route == ("POST", "/_control/grants"):
                try:
                    standin.grant(
                        str(payload["token"]),
                        str(payload["platform"]),
                        str(payload["account_id"]),
                        str(payload.get("name") or ""),
                        payload.get("waba_id"),
                    )
                except (KeyError, ValueError) as error:
                    self.send_json(400, {"message": f"a grant needs token, platform, account_id: {error}"})
                    return
                self.send_json(200, {"grants": standin.grants()})
            elif route == ("GET", "/_control/grants"):
                self.send_json(200, {"grants": standin.grants()})
            elif route == ("DELETE", "/_control/grants"):
                standin.clear_grants()
                self.send_json(200, {"cleared": True})
            else:
                self.send_json(404, {"message": "Not Found"})

        do_GET = do_POST = do_DELETE = do_PUT = _dispatch

    return GraphHandler
