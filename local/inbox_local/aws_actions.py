"""Which AWS actions each function performs, checked against what it declares (``AWS_NEEDS``).

moto does not enforce IAM, so a call the function's role does not grant passes every local test and
fails in AWS. Each handler module declares the IAM actions its code performs (``AWS_NEEDS``:
``"service:Action" -> template logical ids``); tests/unit/test_iam.py proves template.yaml grants
them. This module keeps the declarations honest: while a function's handler runs (the local stack's
invoker, or the tests' handler calls), a botocore ``before-call`` hook — on every session, so both
boto3's clients and pynamodb's connection — records each call as the IAM action(s) AWS authorises,
and any action the function did not declare, as AWS would refuse it with AccessDenied.
"""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

log = logging.getLogger("inbox_local.aws_actions")

# Operations that IAM authorises under another action's name.
_AUTHORISED_AS = {
    ("sqs", "SendMessageBatch"): ("SendMessage",),
    ("sqs", "DeleteMessageBatch"): ("DeleteMessage",),
    ("sqs", "ChangeMessageVisibilityBatch"): ("ChangeMessageVisibility",),
    ("s3", "HeadObject"): ("GetObject",),
    ("s3", "HeadBucket"): ("ListBucket",),
    ("s3", "ListObjects"): ("ListBucket",),
    ("s3", "ListObjectsV2"): ("ListBucket",),
    ("dynamodb", "TransactGetItems"): ("GetItem",),
}
# TransactWriteItems is authorised item by item.
_TRANSACT_WRITE = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def iam_actions(service: str, operation: str, params: Mapping[str, Any]) -> list[str]:
    """The IAM actions AWS checks for one API call, as ``service:Action``."""
    if (service, operation) == ("dynamodb", "TransactWriteItems"):
        kinds = {kind for item in params.get("TransactItems") or [] for kind in item}
        return sorted(f"dynamodb:{_TRANSACT_WRITE[kind]}" for kind in kinds if kind in _TRANSACT_WRITE)
    return [f"{service}:{name}" for name in _AUTHORISED_AS.get((service, operation), (operation,))]


@dataclass
class Ledger:
    """Per function: the actions observed, and those it performed without declaring them."""

    observed: dict[str, set[str]] = field(default_factory=dict)
    undeclared: dict[str, set[str]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, function: str, declared: frozenset[str], action: str) -> None:
        with self._lock:
            self.observed.setdefault(function, set()).add(action)
            if action in declared:
                return
            first = action not in self.undeclared.get(function, set())
            self.undeclared.setdefault(function, set()).add(action)
        if first:
            log.error(
                "%s performed %s, which its AWS_NEEDS does not declare: in AWS its role would refuse it",
                function,
                action,
            )

    def undeclared_pairs(self) -> set[tuple[str, str]]:
        with self._lock:
            return {(function, action) for function, actions in self.undeclared.items() for action in actions}

    def as_dict(self) -> dict[str, dict[str, list[str]]]:
        with self._lock:
            return {
                "observed": {name: sorted(actions) for name, actions in self.observed.items()},
                "undeclared": {name: sorted(actions) for name, actions in self.undeclared.items()},
            }


LEDGER = Ledger()


@dataclass(frozen=True)
class _Running:
    function: str
    declared: frozenset[str]


_running: contextvars.ContextVar[_Running | None] = contextvars.ContextVar(
    "inbox_running_function", default=None
)


def declared_actions(module: Any) -> frozenset[str]:
    """The actions a handler module declares in ``AWS_NEEDS`` (none if it declares nothing)."""
    return frozenset(getattr(module, "AWS_NEEDS", None) or {})


@contextmanager
def running(function: str, declared: frozenset[str]) -> Iterator[None]:
    """AWS calls made inside are the function's (also from worker threads it starts, see install)."""
    token = _running.set(_Running(function, declared))
    try:
        yield
    finally:
        _running.reset(token)


def _before_call(model: Any, params: Mapping[str, Any], **_: Any) -> None:
    current = _running.get()
    if current is None:
        return
    service = model.service_model.signing_name
    for action in iam_actions(service, model.name, params):
        LEDGER.record(current.function, current.declared, action)


_install_lock = threading.Lock()
_installed: list[bool] = []  # one element once installed


def install() -> None:
    """Hook every botocore session (those created later through BUILTIN_HANDLERS, as moto does, and
    boto3's default one if it exists), and carry the running function into executor threads."""
    with _install_lock:
        if _installed:
            return
        import boto3
        from botocore.handlers import BUILTIN_HANDLERS

        BUILTIN_HANDLERS.append(("before-call", _before_call))
        if boto3.DEFAULT_SESSION is not None:
            boto3.DEFAULT_SESSION._session.register("before-call", _before_call)
        _carry_context_into_executors()
        _installed.append(True)


def _carry_context_into_executors() -> None:
    # A handler's parallel work (the webhook's queue lanes) runs in pool threads, which do not inherit
    # context variables; AWS calls made there are still the function's.
    original = ThreadPoolExecutor.submit

    @wraps(original)
    def submit(self: ThreadPoolExecutor, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        if _running.get() is None:
            return original(self, fn, *args, **kwargs)
        return original(self, contextvars.copy_context().run, fn, *args, **kwargs)

    ThreadPoolExecutor.submit = submit  # type: ignore[method-assign]
