"""pytest plugin: every AWS action a function performs in a test must be in its AWS_NEEDS.

Tests call handlers directly (``from api_handler import lambda_handler``), so each handler module
named in template.yaml is wrapped when first imported: while the wrapped handler runs, the botocore
hook of inbox_local.aws_actions attributes AWS calls to that function. A test in which a function
performs an undeclared action fails, naming the function and the action. The local stack's invoker
does the same for the e2e tests (``undeclared_aws_actions`` in ``/_local/status``).

``INBOX_AWS_ACTIONS_REPORT=path`` writes every observed action per function as JSON at the end.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from functools import wraps
from types import ModuleType
from typing import Any

import pytest

from inbox_local import aws_actions
from inbox_local.template import load_template

aws_actions.install()


def _handler_functions() -> dict[str, tuple[str, str]]:
    """Handler module name -> (function logical id, handler attribute)."""
    return {spec.module: (spec.logical_id, spec.attribute) for spec in load_template().functions.values()}


def _recording(function: str, declared: frozenset[str], handler: Callable[..., Any]) -> Callable[..., Any]:
    @wraps(handler)
    def recorded(event: Any, context: Any) -> Any:
        with aws_actions.running(function, declared):
            return handler(event, context)

    return recorded


class _WrappingLoader(importlib.abc.Loader):
    def __init__(self, inner: importlib.abc.Loader, function: str, attribute: str) -> None:
        self.inner = inner
        self.function = function
        self.attribute = attribute

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.inner.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self.inner.exec_module(module)
        handler = getattr(module, self.attribute, None)
        if callable(handler):
            declared = aws_actions.declared_actions(module)
            setattr(module, self.attribute, _recording(self.function, declared, handler))


class _HandlerFinder(importlib.abc.MetaPathFinder):
    def __init__(self, handlers: dict[str, tuple[str, str]]) -> None:
        self.handlers = handlers

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in self.handlers:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        function, attribute = self.handlers[fullname]
        spec.loader = _WrappingLoader(spec.loader, function, attribute)
        return spec


_HANDLERS = _handler_functions()
for _name in _HANDLERS:
    if _name in sys.modules:  # imported before this plugin: forget it so it is wrapped on next import
        del sys.modules[_name]
sys.meta_path.insert(0, _HandlerFinder(_HANDLERS))


@pytest.fixture(autouse=True)
def _aws_needs_are_declared() -> Iterator[None]:
    before = aws_actions.LEDGER.undeclared_pairs()
    yield
    new = sorted(aws_actions.LEDGER.undeclared_pairs() - before)
    if new:
        listed = ", ".join(f"{function}: {action}" for function, action in new)
        pytest.fail(
            f"undeclared AWS actions ({listed}): declare them in the handler module's AWS_NEEDS "
            "and grant them in template.yaml",
            pytrace=False,
        )


def pytest_sessionfinish(session: pytest.Session) -> None:
    target = os.environ.get("INBOX_AWS_ACTIONS_REPORT")
    if not target:
        return
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(f"{target}.{worker}.json", "w", encoding="utf-8") as report:
        json.dump(aws_actions.LEDGER.as_dict(), report, indent=1, sort_keys=True)
