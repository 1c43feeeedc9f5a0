"""Fault mode: the product's AWS calls and Graph calls fail at configured rates, as they fail for real.

``LOCAL_FAULTS="dynamodb=0.1,sqs=0.1,events=0.1,graph=0.1"`` (and ``LOCAL_FAULTS_SEED``) at start,
``POST|DELETE|GET /_local/faults`` at runtime. A rate is the chance that one HTTP attempt fails.

AWS (a botocore ``before-send`` hook on every client the handlers create; the stack's own clients,
which persist data and poll queues, are exempt): throttling (400 ThrottlingException /
ProvisionedThroughputExceededException), 500 InternalServerError, a connect timeout (the request
never left), and a *lost response*: the request is applied, then the client times out reading the
answer. botocore retries all of these, as in Lambda; what survives retries is what makes the
product's guarantees matter: the lost response (the retry repeats a write that already happened), a
batch answered with some entries failed (PutEvents, SendMessageBatch: never retried by botocore)
and a cancelled transaction (TransactionConflict).

Graph (the stand-in, ``graph_standin.py``): Meta's transient 500 (code 2), rate limits (codes 4,
613 and 80007), and for writes a response lost *after* Meta accepted the message (the send is
recorded, then the connection is dropped without an answer).
"""

from __future__ import annotations

import json
import logging
import random
import threading
from collections import Counter
from collections.abc import Iterator
from typing import Any

log = logging.getLogger("inbox_local.faults")

CATEGORIES = ("dynamodb", "sqs", "events", "s3", "graph")

# Kinds per AWS service and their weights among injected faults.
_COMMON = [("throttle", 3.0), ("internal", 2.0), ("connect_timeout", 1.0), ("lost_response", 3.0)]
_AWS_KINDS: dict[str, list[tuple[str, float]]] = {
    "dynamodb": [*_COMMON, ("conflict", 1.0)],
    "sqs": [*_COMMON, ("partial", 1.0)],
    "events": [*_COMMON, ("partial", 1.0)],
    "s3": [("connect_timeout", 1), ("lost_response", 1)],  # (S3 speaks XML: no JSON error bodies)
}
_GRAPH_KINDS = [("server_error", 3), ("rate_limit", 3), ("lost_after_accept", 4)]
_GRAPH_READ_KINDS = [("server_error", 1), ("rate_limit", 1)]


class FaultSpecError(ValueError):
    pass


def parse_rates(spec: str | dict[str, Any]) -> dict[str, float]:
    """``"dynamodb=0.1,graph=0.2"`` or ``{"dynamodb": 0.1}`` → rates; unknown names and rates
    outside [0, 1] are refused."""
    if isinstance(spec, str):
        pairs: dict[str, Any] = {}
        for part in filter(None, (piece.strip() for piece in spec.split(","))):
            name, separator, value = part.partition("=")
            if not separator:
                raise FaultSpecError(f"{part!r}: expected name=rate")
            pairs[name.strip()] = value.strip()
    elif isinstance(spec, dict):
        pairs = spec
    else:
        raise FaultSpecError("expected an object of rates")
    rates = {}
    for name, value in pairs.items():
        if name not in CATEGORIES:
            raise FaultSpecError(f"unknown fault category {name!r} (known: {', '.join(CATEGORIES)})")
        try:
            rate = float(value)
        except (TypeError, ValueError):
            raise FaultSpecError(f"{name}: {value!r} is not a number") from None
        if not 0.0 <= rate <= 1.0:
            raise FaultSpecError(f"{name}: {rate} is not between 0 and 1")
        rates[name] = rate
    return rates


class Faults:
    """The rates, one seeded random stream for every choice, and counts of calls and faults."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**32)
        self._random = random.Random(self.seed)  # noqa: S311 - reproducible faults, not secrets
        self._lock = threading.Lock()
        self._rates: dict[str, float] = {}
        self._calls: Counter[str] = Counter()
        self._injected: dict[str, Counter[str]] = {}

    def set_rates(self, rates: dict[str, float]) -> None:
        with self._lock:
            self._rates = {name: rate for name, rate in rates.items() if rate > 0}
        log.warning("fault mode: %s", self._rates or "off")

    def clear(self) -> None:
        self.set_rates({})

    def choose(self, category: str, kinds: list[tuple[str, float]]) -> str | None:
        """Counts one call; the kind of fault to inject into it, or None."""
        with self._lock:
            rate = self._rates.get(category, 0.0)
            if not rate:
                return None
            self._calls[category] += 1
            if self._random.random() >= rate:
                return None
            names, weights = zip(*kinds, strict=True)
            kind = self._random.choices(names, weights)[0]
            self._injected.setdefault(category, Counter())[kind] += 1
            return kind

    def sample(self, population: int, share: float) -> set[int]:
        """Which of ``population`` batch entries fail (at least one, never all when there are two+)."""
        with self._lock:
            count = min(max(1, round(population * share)), max(1, population - 1))
            return set(self._random.sample(range(population), count))

    def pick(self, options: tuple[Any, ...]) -> Any:
        with self._lock:
            return self._random.choice(options)

    def status(self) -> dict[str, Any]:
        with self._lock:
            return {
                "rates": dict(self._rates),
                "seed": self.seed,
                "calls": dict(self._calls),
                "injected": {name: dict(kinds) for name, kinds in self._injected.items()},
            }


# ---------------------------------------------------------------------------------------- AWS
class _Body:
    """What botocore's AWSResponse reads a body from."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._data


def _error(request: Any, status: int, error_type: str, message: str, content_type: str) -> Any:
    from botocore.awsrequest import AWSResponse

    body = json.dumps({"__type": error_type, "message": message}).encode()
    headers = {"Content-Type": content_type, "x-amzn-RequestId": "local-fault"}
    return AWSResponse(request.url, status, headers, _Body(body))


_THROTTLES = {
    "dynamodb": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
    "sqs": "com.amazonaws.sqs#ThrottlingException",
    "events": "ThrottlingException",
}
_INTERNAL = {
    "dynamodb": "com.amazonaws.dynamodb.v20120810#InternalServerError",
    "sqs": "com.amazonaws.sqs#InternalError",
    "events": "InternalException",
}


class AwsFaults:
    """The ``before-send`` handler: None lets the request go; a response or an exception replaces it."""

    def __init__(self, faults: Faults) -> None:
        self._faults = faults
        self._http: Any = None

    def _send(self, request: Any) -> Any:
        if self._http is None:
            from botocore.httpsession import URLLib3Session

            self._http = URLLib3Session()
        return self._http.send(request)

    def before_send(self, request: Any, service: str, **_: Any) -> Any:
        kinds = _AWS_KINDS.get(service)
        if kinds is None:
            return None
        operation = str(request.headers.get("X-Amz-Target", b"") or "").rsplit(".", 1)[-1]
        applicable = [
            (kind, weight)
            for kind, weight in kinds
            if (kind != "conflict" or operation == "TransactWriteItems")
            and (kind != "partial" or operation in ("PutEvents", "SendMessageBatch"))
        ]
        kind = self._faults.choose(service, applicable)
        if kind is None:
            return None
        from botocore.exceptions import ConnectTimeoutError, ReadTimeoutError

        content_type = request.headers.get("Content-Type", "application/x-amz-json-1.0")
        if isinstance(content_type, bytes):
            content_type = content_type.decode()
        if kind == "throttle":
            return _error(request, 400, _THROTTLES[service], "Rate exceeded (local fault)", content_type)
        if kind == "internal":
            return _error(request, 500, _INTERNAL[service], "Internal error (local fault)", content_type)
        if kind == "connect_timeout":
            raise ConnectTimeoutError(endpoint_url=request.url)
        if kind == "lost_response":
            self._send(request)  # applied by the service; the answer never arrives
            raise ReadTimeoutError(endpoint_url=request.url)
        if kind == "conflict":
            return self._conflict(request, content_type)
        return self._partial(request, operation, content_type)

    def _conflict(self, request: Any, content_type: str) -> Any:
        from botocore.awsrequest import AWSResponse

        items = json.loads(request.body or b"{}").get("TransactItems", [])
        reasons = [{"Code": "None"} for _ in items]
        if reasons:
            reasons[0] = {"Code": "TransactionConflict", "Message": "Transaction is ongoing for the item"}
        body = {
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "message": "Transaction cancelled, please refer cancellation reasons for specific reasons "
            f"[{', '.join(reason['Code'] for reason in reasons)}]",
            "CancellationReasons": reasons,
        }
        return AWSResponse(request.url, 400, {"Content-Type": content_type}, _Body(json.dumps(body).encode()))

    def _partial(self, request: Any, operation: str, content_type: str) -> Any:
        """Some entries of the batch fail (the others are really sent): a 200 botocore never retries."""
        from botocore.awsrequest import AWSPreparedRequest, AWSResponse

        payload = json.loads(request.body or b"{}")
        entries = payload.get("Entries", [])
        failing = self._faults.sample(len(entries), 0.3) if entries else set()
        kept = [entry for index, entry in enumerate(entries) if index not in failing]
        answered: list[Any] = []
        if kept:
            body = json.dumps({**payload, "Entries": kept}).encode()
            headers = {
                name: value for name, value in request.headers.items() if name.lower() != "content-length"
            }
            headers["Content-Length"] = str(len(body))
            forwarded = AWSPreparedRequest(request.method, request.url, headers, body, stream_output=False)
            response = json.loads(self._send(forwarded).content or b"{}")
            answered = response.get("Entries") or response.get("Successful") or []
        if operation == "PutEvents":
            results, accepted = [], iter(answered)
            for index in range(len(entries)):
                if index in failing:
                    results.append({"ErrorCode": "InternalFailure", "ErrorMessage": "local fault"})
                else:
                    results.append(next(accepted, {"EventId": "unknown"}))
            body = {"FailedEntryCount": len(failing), "Entries": results}
        else:  # SendMessageBatch
            failed = [
                {"Id": entries[i]["Id"], "SenderFault": False, "Code": "InternalError", "Message": "fault"}
                for i in sorted(failing)
            ]
            body = {"Successful": answered, "Failed": failed}
        return AWSResponse(request.url, 200, {"Content-Type": content_type}, _Body(json.dumps(body).encode()))


class _Installed:
    aws: AwsFaults | None = None


def install_aws(faults: Faults) -> None:
    """Every botocore client created from now on, outside exempt sessions, goes through the faults."""
    import botocore.session

    _Installed.aws = AwsFaults(faults)
    if getattr(botocore.session.Session, "_inbox_faults", False):
        return
    create_client = botocore.session.Session.create_client

    def create_client_with_faults(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = create_client(self, *args, **kwargs)
        if not getattr(self, "_inbox_local_exempt", False) and _Installed.aws is not None:
            service = client.meta.service_model.service_name
            handler = _Installed.aws.before_send

            def before_send(request: Any, **extra: Any) -> Any:
                return handler(request, service, **extra)

            client.meta.events.register("before-send", before_send)
        return client

    botocore.session.Session.create_client = create_client_with_faults  # type: ignore[method-assign]
    botocore.session.Session._inbox_faults = True  # type: ignore[attr-defined]


def exempt(session: Any) -> Any:
    """Marks a boto3 session as the stack's own (never faulted); returns it."""
    session._session._inbox_local_exempt = True
    return session


# -------------------------------------------------------------------------------------- Graph
def graph_fault(faults: Faults | None, method: str) -> str | None:
    if faults is None:
        return None
    return faults.choose("graph", _GRAPH_KINDS if method in ("POST", "DELETE") else _GRAPH_READ_KINDS)


def graph_error(kind: str, faults: Faults) -> tuple[int, dict[str, Any]]:
    """Meta's answer for an injected Graph fault (server_error or rate_limit)."""
    from inbox_local.graph_answers import meta_error

    if kind == "server_error":
        body = meta_error("An unexpected error has occurred. Please retry your request later.", 2)
        body["error"]["is_transient"] = True
        return 500, body
    # Rate limits answer 400 at Meta; which one depends on the channel (80007: Instagram/WhatsApp).
    choice = faults.pick((4, 613, 80007))
    messages = {
        4: "(#4) Application request limit reached",
        613: "(#613) Calls to this api have exceeded the rate limit.",
        80007: "(#80007) There have been too many calls to this account. Wait a bit and try again.",
    }
    body = meta_error(messages[choice], choice)
    body["error"]["is_transient"] = True
    return 400, body
