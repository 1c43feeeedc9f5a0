"""The local API Gateway (HTTP API): template.yaml's routes, the JWT authorizer, the SPA and Swagger UI.

For each request: a template route (``{param}`` / ``{proxy+}`` segments, ``ANY``, ``$default``) →
the JWT check for authorized routes (401 ``{"message":"Unauthorized"}`` without invoking anything) →
a payload-2.0 event → the function's handler in-process → its statusCode / headers / cookies / body.
Otherwise: ``/_local/...`` controls (``/_local/token`` mints demo tokens for the web app's
"Entrar como demo"), ``/docs`` (Swagger UI on /v1/openapi.json), files from web/
(``/app/...`` falls back to index.html for client-side routes), else 404 ``{"message":"Not Found"}``.
"""

from __future__ import annotations

import base64
import json
import logging
import mimetypes
import re
import time
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import jwt

from inbox_local import demo
from inbox_local.apigw import http_api_event
from inbox_local.httpbase import BodyTooLarge, JsonRequestHandler, LoopbackServer
from inbox_local.invoker import FunctionLoadError, FunctionRegistry
from inbox_local.template import HttpRoute
from inbox_local.tokens import ROLES, mint_token, verify_token

log = logging.getLogger("inbox_local.gateway")

MAX_BODY_BYTES = 10 * 1024 * 1024  # HTTP API's payload limit
OPENAPI_PATH = "/v1/openapi.json"
# What HTTP API answers when the function fails or returns something it cannot use.
INTERNAL_ERROR = (500, [("Content-Type", "application/json")], b'{"message":"Internal Server Error"}')
SWAGGER_ASSETS = {
    "/docs/swagger-ui.css": ("swagger-ui.min.css", "text/css; charset=utf-8"),
    "/docs/swagger-ui-bundle.js": ("swagger-ui-bundle.min.js", "text/javascript; charset=utf-8"),
}
SWAGGER_HTML = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Inbox CRM API (local)</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui">Loading…</div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script>
    // "Authorize" takes a dev token: `inbox-local token --role owner` prints one.
    window.ui = SwaggerUIBundle({
      url: "%s", dom_id: "#swagger-ui", deepLinking: true, persistAuthorization: true,
      presets: [SwaggerUIBundle.presets.apis], layout: "BaseLayout"
    });
  </script>
</body>
</html>
"""


class ControlPlane(Protocol):
    """What the gateway exposes under /_local/ (implemented by the stack)."""

    def fire_schedule(self, function: str) -> tuple[int, dict[str, Any]]: ...

    def status(self) -> dict[str, Any]: ...

    def faults_control(self, method: str, body: bytes) -> tuple[int, dict[str, Any]]: ...

    def bus_events(self, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]: ...


@dataclass(frozen=True)
class CompiledRoute:
    route: HttpRoute
    pattern: re.Pattern[str] | None  # None: the $default route
    order: tuple[int, int, int]  # lower first: literal paths, then fewer parameters, greedy last

    @classmethod
    def of(cls, route: HttpRoute) -> CompiledRoute:
        if route.path == "$default":
            return cls(route, None, (2, 0, 0))
        parts, params, greedy = [], 0, 0
        for segment in route.path.strip("/").split("/"):
            if segment.startswith("{") and segment.endswith("+}"):
                parts.append(f"(?P<{_group(segment[1:-2])}>.+)")
                greedy = 1
            elif segment.startswith("{") and segment.endswith("}"):
                parts.append(f"(?P<{_group(segment[1:-1])}>[^/]+)")
                params += 1
            else:
                parts.append(re.escape(segment))
        return cls(route, re.compile("/" + "/".join(parts)), (greedy, params, -len(route.path)))

    def match(self, path: str) -> dict[str, str] | None:
        if self.pattern is None:
            return {}
        found = self.pattern.fullmatch(path)
        if found is None:
            return None
        names = _param_names(self.route.path)
        return {names[group]: unquote(value) for group, value in found.groupdict().items()}


def _group(name: str) -> str:
    # Regex group names must be identifiers; path parameters may contain '-' or '.'.
    return "p_" + re.sub(r"\W", "_", name)


def _param_names(path: str) -> dict[str, str]:
    names = re.findall(r"\{([^}]+?)\+?\}", path)
    return {_group(name): name for name in names}


class RouteTable:
    def __init__(self, routes: list[HttpRoute]) -> None:
        self._routes = sorted((CompiledRoute.of(route) for route in routes), key=lambda r: r.order)

    def find(self, method: str, path: str) -> tuple[HttpRoute, dict[str, str]] | None:
        """An exact method beats ANY on the same path; unrouted methods are 404, as on HTTP API."""
        for accepts in (lambda m: m == method, lambda m: m in ("ANY", "X-AMAZON-APIGATEWAY-ANY-METHOD")):
            for compiled in self._routes:
                if accepts(compiled.route.method):
                    params = compiled.match(path)
                    if params is not None:
                        return compiled.route, params
        return None


def _claim_value(value: Any) -> str:
    # The JWT authorizer hands claims to the function as strings; arrays as "[a b]".
    if isinstance(value, list):
        return "[" + " ".join(str(item) for item in value) + "]"
    return value if isinstance(value, str) else json.dumps(value)


def lambda_response(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    """Payload 2.0 response rules: a dict with statusCode is a full response; anything else is a
    200 JSON body."""
    if isinstance(result, dict) and "statusCode" in result:
        headers = [(str(name), str(value)) for name, value in (result.get("headers") or {}).items()]
        headers += [("Set-Cookie", str(cookie)) for cookie in result.get("cookies") or []]
        body = result.get("body") or ""
        if result.get("isBase64Encoded"):
            raw = base64.b64decode(body)
        else:
            raw = body.encode("utf-8") if isinstance(body, str) else json.dumps(body).encode("utf-8")
        return int(result["statusCode"]), headers, raw
    body = result if isinstance(result, str) else json.dumps(result)
    return 200, [("Content-Type", "application/json")], body.encode("utf-8")


@cache
def _swagger_asset(filename: str) -> bytes:
    package = resources.files("aws_lambda_powertools.event_handler.openapi.swagger_ui")
    return package.joinpath(filename).read_bytes()


class Gateway:
    def __init__(
        self,
        host: str,
        port: int,
        routes: list[HttpRoute],
        functions: FunctionRegistry,
        jwt_secret: str,
        web_root: Path,
        control: ControlPlane,
    ) -> None:
        self.routes = RouteTable(routes)
        self.functions = functions
        self.jwt_secret = jwt_secret
        self.web_root = web_root.resolve()
        self.control = control
        self._server = LoopbackServer(host, port, _handler_for(self))

    @property
    def port(self) -> int:
        return self._server.port

    @property
    def url(self) -> str:
        return self._server.url

    def start(self) -> None:
        self._server.start("gateway")

    def stop(self) -> None:
        self._server.stop()

    def authorize(self, authorization: str) -> tuple[dict[str, str] | None, str | None]:
        """(claims, None) for a valid token; (None, why) otherwise."""
        # Like API Gateway, take the token with or without its "Bearer " prefix.
        token = authorization[7:] if authorization[:7].lower() == "bearer " else authorization
        token = token.strip()
        if not token:
            return None, None
        try:
            claims = verify_token(token, self.jwt_secret)
        except jwt.ExpiredSignatureError:
            return None, "the token has expired"
        except jwt.InvalidTokenError:
            return None, "the token is invalid"
        return {name: _claim_value(value) for name, value in claims.items()}, None

    def static_file(self, path: str) -> Path | None:
        """The file of web/ a GET serves: /app/... falls back to index.html (client-side routes)."""
        try:
            candidate = (self.web_root / unquote(path).lstrip("/")).resolve()
        except (OSError, ValueError):  # e.g. an encoded NUL byte
            return None
        if not candidate.is_relative_to(self.web_root):
            return None
        if candidate.is_dir():
            candidate = candidate / "index.html"
        if not candidate.is_file() and (path == "/app" or path.startswith("/app/")):
            candidate = self.web_root / "index.html"
        return candidate if candidate.is_file() else None


def _handler_for(gateway: Gateway) -> type[JsonRequestHandler]:
    class GatewayHandler(JsonRequestHandler):
        max_body_bytes = MAX_BODY_BYTES

        def _dispatch(self) -> None:
            started = time.perf_counter()
            path = urlsplit(self.path).path or "/"
            try:
                status = self._respond(path)
            except Exception:
                log.exception("%s %s: the gateway failed", self.command, path)
                self.close_connection = True
                self.send_json(500, {"message": "Internal Server Error"})
                status = 500
            elapsed = (time.perf_counter() - started) * 1000
            log.info("%s %s %d %.0fms", self.command, path, status, elapsed)

        def _respond(self, path: str) -> int:
            try:
                body = self.read_body()
            except BodyTooLarge:
                self.close_connection = True  # the unread body makes the connection unusable
                self.send_json(413, {"message": "Request Entity Too Large"})
                return 413
            found = gateway.routes.find(self.command, path)
            if found is not None:
                route, params = found
                return self._invoke(route, params, body)
            if path.startswith("/_local/"):
                return self._control(path, body)
            if self.command in ("GET", "HEAD"):
                served = self._static(path)
                if served:
                    return served
            self.send_json(404, {"message": "Not Found"})
            return 404

        def _invoke(self, route: HttpRoute, params: dict[str, str], body: bytes) -> int:
            claims = None
            if route.authorized:
                claims, problem = gateway.authorize(self.headers.get("Authorization", ""))
                if claims is None:
                    challenge = 'Bearer scope="" error="invalid_token"'
                    if problem:
                        challenge += f' error_description="{problem}"'
                    self.send_json(401, {"message": "Unauthorized"}, [("www-authenticate", challenge)])
                    return 401
            target = urlsplit(self.path)
            event = http_api_event(
                self.command,
                target.path,
                route_path=route.path,
                path_parameters=params or None,
                query=target.query,
                headers=self._event_headers(),
                body=body or None,
                claims=claims,
                source_ip=self.client_address[0],
            )
            request_id = event["requestContext"]["requestId"]
            try:
                result = gateway.functions[route.function].invoke(event)
                status, headers, payload = lambda_response(result)
            except FunctionLoadError:
                status, headers, payload = INTERNAL_ERROR  # the function logged why, once
            except Exception:
                log.exception("%s failed on %s %s", route.function, self.command, route.path)
                status, headers, payload = INTERNAL_ERROR
            self.send_bytes(status, payload, [*headers, ("apigw-requestid", request_id)])
            return status

        def _event_headers(self) -> dict[str, str]:
            headers: dict[str, str] = {}
            for name, value in self.headers.items():
                key = name.lower()
                headers[key] = f"{headers[key]},{value}" if key in headers else value
            headers.update(
                {
                    "x-forwarded-for": self.client_address[0],
                    "x-forwarded-port": str(gateway.port),
                    "x-forwarded-proto": "http",
                }
            )
            return headers

        def _control(self, path: str, body: bytes) -> int:
            parts = [part for part in path.split("/") if part]
            if self.command == "POST" and len(parts) == 3 and parts[1] == "schedules":
                status, payload = gateway.control.fire_schedule(unquote(parts[2]))
            elif self.command == "GET" and parts == ["_local", "status"]:
                status, payload = 200, gateway.control.status()
            elif parts == ["_local", "faults"] and self.command in ("GET", "POST", "DELETE"):
                status, payload = gateway.control.faults_control(self.command, body)
            elif self.command == "GET" and parts == ["_local", "events"]:
                status, payload = gateway.control.bus_events(parse_qs(urlsplit(self.path).query))
            elif self.command == "GET" and parts == ["_local", "token"]:
                status, payload = self._demo_token()
                self.send_json(status, payload, [("Cache-Control", "no-store")])
                return status
            else:
                status, payload = 404, {"message": "Not Found"}
            self.send_json(status, payload)
            return status

        def _demo_token(self) -> tuple[int, dict[str, Any]]:
            """The web app's demo login: without ``role``, the roles on offer; with ``?role=``, a token
            of that seeded demo user, signed with the secret this gateway verifies. Loopback only."""
            roles = parse_qs(urlsplit(self.path).query).get("role")
            if not roles:
                return 200, {"roles": list(ROLES), "workspace_id": demo.DEMO_WORKSPACE_ID}
            if roles[0] not in ROLES:
                return 400, {"message": f"role must be one of {', '.join(ROLES)}"}
            token = mint_token(roles[0], secret=gateway.jwt_secret)
            return 200, {"token": token, "role": roles[0], "workspace_id": demo.DEMO_WORKSPACE_ID}

        def _static(self, path: str) -> int | None:
            if path.rstrip("/") == "/docs":
                html = (SWAGGER_HTML % OPENAPI_PATH).encode("utf-8")
                self.send_bytes(200, html, [("Cache-Control", "no-cache")], "text/html; charset=utf-8")
                return 200
            if path in SWAGGER_ASSETS:
                filename, content_type = SWAGGER_ASSETS[path]
                self.send_bytes(
                    200, _swagger_asset(filename), [("Cache-Control", "max-age=3600")], content_type
                )
                return 200
            file = gateway.static_file(path)
            if file is None:
                return None
            content_type = mimetypes.guess_type(file.name)[0] or "application/octet-stream"
            if content_type.startswith("text/") or content_type.endswith(("javascript", "json")):
                content_type += "; charset=utf-8"
            # no-cache: the SPA is edited while the stack runs; revalidation is cheap on loopback.
            self.send_bytes(200, file.read_bytes(), [("Cache-Control", "no-cache")], content_type)
            return 200

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _dispatch

    return GatewayHandler
