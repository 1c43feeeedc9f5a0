"""Starting the local stack as `inbox-local run` in a subprocess, and a client to drive it over HTTP.

A subprocess because the stack sets process-wide environment (AWS_ENDPOINT_URL, TABLE_NAME…) that the
project's modules read when first imported, and tests/conftest.py set other values for moto-in-process
tests. Every stack gets free ports and its own data directory, so xdist workers never collide.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from inbox_local.aws import session as aws_session
from inbox_local.cli import READY_MARKER
from inbox_local.template import PROJECT_ROOT
from inbox_local.tokens import mint_token

READY_TIMEOUT_SECONDS = 60
STOP_TIMEOUT_SECONDS = 30
E2E_JWT_SECRET = "e2e-jwt-secret-only-for-the-local-stack-tests"
E2E_APP_SECRET = "e2e-app-secret"
# What tests/conftest.py or a developer's shell may have set, that would steer the stack elsewhere.
_INHERITED_PREFIXES = ("AWS_", "POWERTOOLS_", "META_", "LOCAL_", "GRAPH_")
_INHERITED_NAMES = ("TABLE_NAME", "EVENT_BUS_NAME", "INBOUND_QUEUE_URL")


def stack_environment(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_INHERITED_PREFIXES) and name not in _INHERITED_NAMES
    }
    env.update(
        {
            "LOCAL_DATA_DIR": str(data_dir),
            "LOCAL_JWT_SECRET": E2E_JWT_SECRET,
            "META_APP_SECRET": E2E_APP_SECRET,
            # Timers would invoke handlers at arbitrary moments; tests fire schedules on demand.
            "LOCAL_SCHEDULE_SECONDS": "0",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


def run_cli(*args: str, data_dir: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "inbox_local.cli", *args],
        env=stack_environment(data_dir),
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@dataclass
class StackProcess:
    process: subprocess.Popen[str]
    urls: dict[str, str] = field(default_factory=dict)
    output: list[str] = field(default_factory=list)

    def log_tail(self, lines: int = 60) -> str:
        return "".join(self.output[-lines:])

    def stop(self) -> int:
        """SIGTERM, as Ctrl-C or `make run`'s terminal would, and the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(STOP_TIMEOUT_SECONDS)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
                raise AssertionError(f"the stack ignored SIGTERM:\n{self.log_tail()}") from None
        return self.process.returncode

    def kill(self) -> None:
        """SIGKILL: no handler, no drain, no final save."""
        self.process.kill()
        self.process.wait()


def start_stack(data_dir: Path, **environment: str) -> StackProcess:
    """``environment``: extra variables for the stack (LOCAL_FAULTS=…, LOCAL_SCHEDULE_SECONDS=…)."""
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "inbox_local.cli",
            "run",
            "--port",
            "0",
            "--graph-port",
            "0",
            "--aws-port",
            "0",
        ],
        env=stack_environment(data_dir, **environment),
        cwd=PROJECT_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    stack = StackProcess(process)
    ready = threading.Event()

    def read_output() -> None:
        # Keeps draining after READY: a full pipe would block the stack's logging.
        assert process.stdout is not None
        for line in process.stdout:
            stack.output.append(line)
            if line.startswith(READY_MARKER):
                stack.urls = json.loads(line[len(READY_MARKER) :])
                ready.set()
        ready.set()

    threading.Thread(target=read_output, daemon=True).start()
    if not ready.wait(READY_TIMEOUT_SECONDS) or not stack.urls:
        process.kill()
        process.wait()
        raise AssertionError(f"the local stack did not become ready:\n{stack.log_tail()}")
    return stack


@dataclass
class LocalStackClient:
    url: str
    graph_url: str
    aws_url: str
    session: requests.Session = field(default_factory=requests.Session)

    def token(self, role: str = "owner", **claims: Any) -> str:
        """The same token `inbox-local token` prints, signed with this stack's secret."""
        return mint_token(role, secret=E2E_JWT_SECRET, **claims)

    def call(
        self, method: str, path: str, *, role: str | None = None, token: str | None = None, **kwargs: Any
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", None) or {})
        if role is not None:
            token = self.token(role)
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        return self.session.request(method, f"{self.url}{path}", headers=headers, timeout=30, **kwargs)

    def status(self) -> dict[str, Any]:
        return self.call("GET", "/_local/status").json()

    def grant(self, platform: str, account_id: str, waba_id: str | None = None) -> str:
        """A token the stack's Graph stand-in confirms can act for the account (to connect it)."""
        token = f"e2e-token-{platform}-{account_id}"
        grant = {"token": token, "platform": platform, "account_id": account_id, "waba_id": waba_id}
        reply = self.session.post(f"{self.graph_url}/_control/grants", json=grant, timeout=10)
        assert reply.status_code == 200, reply.text
        return token

    def aws(self, service: str) -> Any:
        """A boto3 client of this stack's moto."""
        return aws_session("us-east-1").client(service, endpoint_url=self.aws_url)


def client_for(stack: StackProcess) -> LocalStackClient:
    return LocalStackClient(stack.urls["url"], stack.urls["graph_url"], stack.urls["aws_url"])
