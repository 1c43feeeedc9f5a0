"""Loads each function's handler on first use and invokes it in-process, one invocation at a time.

One at a time per function, like one Lambda sandbox: handlers keep per-invocation state in module
globals (Powertools' resolver holds ``current_event``), which concurrent threads would mix up.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inbox_local import aws_actions
from inbox_local.apigw import lambda_context
from inbox_local.template import FunctionSpec

log = logging.getLogger("inbox_local.invoker")

Handler = Callable[[Any, Any], Any]

# One handler import at a time: two threads importing modules that import each other (powertools'
# data classes) can each see the other's half-initialised module and fail for good.
_IMPORT_LOCK = threading.Lock()


class FunctionLoadError(Exception):
    """The handler cannot be imported (yet): a missing module, a syntax error, no handler attribute."""


class LocalFunction:
    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self._handler: Handler | None = None
        self._load_lock = threading.Lock()
        self._invoke_lock = threading.Lock()
        self._last_load_error: str | None = None
        self._declared: frozenset[str] = frozenset()
        self.invocations = 0
        self.errors = 0

    @property
    def name(self) -> str:
        return self.spec.logical_id

    @property
    def loaded(self) -> bool:
        return self._handler is not None

    def handler(self) -> Handler:
        if self._handler is not None:
            return self._handler
        with self._load_lock, _IMPORT_LOCK:
            if self._handler is None:
                try:
                    self._handler = self._load()
                except FunctionLoadError as error:
                    # Logged once per distinct cause: a timer retrying an unwritten handler stays quiet.
                    if str(error) != self._last_load_error:
                        log.error("%s", error)
                    self._last_load_error = str(error)
                    raise
            return self._handler

    def _load(self) -> Handler:
        code_dir = self.spec.code_uri.resolve()
        if str(code_dir) not in sys.path:
            sys.path.insert(0, str(code_dir))
        module_name = self.spec.module
        try:
            module = importlib.import_module(module_name)
        except Exception as error:
            sys.modules.pop(module_name, None)
            raise FunctionLoadError(f"{self.name}: cannot import {module_name}: {error!r}") from error
        module_file = Path(getattr(module, "__file__", None) or "").resolve()
        if not module_file.is_relative_to(code_dir):
            raise FunctionLoadError(
                f"{self.name}: module {module_name} resolves to {module_file}, outside {code_dir}: "
                "handler modules need unique names"
            )
        handler = getattr(module, self.spec.attribute, None)
        if not callable(handler):
            # Forget the module so the next invocation re-reads a file that may still be being written.
            sys.modules.pop(module_name, None)
            raise FunctionLoadError(f"{self.name}: {module_name} has no callable {self.spec.attribute}")
        log.info("%s: loaded %s", self.name, self.spec.handler)
        self._declared = aws_actions.declared_actions(module)
        return handler

    def invoke(self, event: Any) -> Any:
        """The handler's result; FunctionLoadError or the handler's own exception otherwise."""
        handler = self.handler()
        with self._invoke_lock:
            self.invocations += 1
            started = time.monotonic()
            try:
                with aws_actions.running(self.name, self._declared):
                    return handler(event, lambda_context(self.name, self.spec.timeout))
            except Exception:
                self.errors += 1
                raise
            finally:
                elapsed = time.monotonic() - started
                if elapsed > self.spec.timeout:
                    # In AWS this invocation would have been killed; locally it is only reported.
                    log.warning("%s: ran %.1fs, past its %ss timeout", self.name, elapsed, self.spec.timeout)


class FunctionRegistry:
    def __init__(self, specs: dict[str, FunctionSpec]) -> None:
        self._functions = {logical_id: LocalFunction(spec) for logical_id, spec in specs.items()}
        aws_actions.install()  # AWS calls the functions make without declaring them are reported

    def __getitem__(self, logical_id: str) -> LocalFunction:
        return self._functions[logical_id]

    def __contains__(self, logical_id: object) -> bool:
        return logical_id in self._functions

    def status(self) -> dict[str, dict[str, Any]]:
        undeclared = aws_actions.LEDGER.as_dict()["undeclared"]
        return {
            name: {
                "loaded": function.loaded,
                "invocations": function.invocations,
                "errors": function.errors,
                "undeclared_aws_actions": undeclared.get(name, []),
            }
            for name, function in self._functions.items()
        }
