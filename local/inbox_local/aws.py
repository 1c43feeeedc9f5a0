"""moto's server on loopback: DynamoDB, SQS, EventBridge, SSM and Secrets Manager for the local stack.

The server counts DynamoDB writes (from any client: handlers, the seed, a developer's script pointed
at AWS_ENDPOINT_URL) so bucket objects are saved only when data changed, and makes each request's
journal records durable before answering it (``journal.py``).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from inbox_local import journal
from inbox_local.moto_patches import apply_moto_patches

log = logging.getLogger("inbox_local.aws")

# moto's default account: every ARN moto hands out carries it.
ACCOUNT_ID = "123456789012"
LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}

_DYNAMODB_WRITES = frozenset(
    {
        "PutItem",
        "UpdateItem",
        "DeleteItem",
        "BatchWriteItem",
        "TransactWriteItems",
        "ExecuteStatement",
        "BatchExecuteStatement",
        "ExecuteTransaction",
    }
)


class _NoDelayMotoRequestHandler(MotoRequestHandler):
    disable_nagle_algorithm = True


class LocalAws(ThreadedMotoServer):
    """ThreadedMotoServer (moto is pinned) whose app counts DynamoDB writes, and whose start() raises
    when the port cannot be bound instead of waiting forever for a server that never came up."""

    def __init__(self, host: str = "127.0.0.1", port: int = 4566) -> None:
        super().__init__(ip_address=host, port=port, verbose=False)
        self._writes = 0
        self._writes_lock = threading.Lock()
        self._startup_error: BaseException | None = None

    @property
    def dynamodb_writes(self) -> int:
        with self._writes_lock:
            return self._writes

    @property
    def endpoint_url(self) -> str:
        host, port = self.get_host_and_port()
        return f"http://{host}:{port}"

    def _count_writes(self, app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
        def counting_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
            response = app(environ, start_response)
            # What this request wrote is on disk before its answer leaves (the response is sent
            # after this returns): an acknowledged write survives a kill.
            journal.sync_request()
            target = environ.get("HTTP_X_AMZ_TARGET", "")
            if target.startswith("DynamoDB_") and target.rsplit(".", 1)[-1] in _DYNAMODB_WRITES:
                with self._writes_lock:
                    self._writes += 1
            return response

        return counting_app

    def _server_entry(self) -> None:
        try:
            app = DomainDispatcherApplication(create_backend_app)
            self._server = make_server(
                self._ip_address,
                self._port,
                self._count_writes(app),
                threaded=True,
                request_handler=_NoDelayMotoRequestHandler,
            )
        except BaseException as error:
            self._startup_error = error
            self._server_ready_event.set()
            return
        self._server_ready_event.set()
        self._server.serve_forever(poll_interval=0.1)  # how long stop() waits

    def start(self) -> None:
        # Handlers, consumers and timers write concurrently: without this, a failed transaction
        # restores moto's table copy over writes other threads made meanwhile.
        apply_moto_patches()
        super().start()
        if self._startup_error is not None:
            raise OSError(f"moto cannot listen on {self._ip_address}:{self._port}: {self._startup_error}")

    def stop(self) -> None:
        if self._server is not None:
            super().stop()


def use_local_aws(endpoint_url: str, region: str) -> None:
    """Point every AWS SDK call of this process at moto, with dummy credentials: never at real AWS."""
    for name in list(os.environ):
        # Service-specific endpoints and profiles would win over AWS_ENDPOINT_URL or the dummy keys.
        if name.startswith("AWS_ENDPOINT_URL_") or name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
            del os.environ[name]
    os.environ.update(LOCAL_CREDENTIALS)
    os.environ["AWS_ENDPOINT_URL"] = endpoint_url
    os.environ["AWS_REGION"] = region
    os.environ["AWS_DEFAULT_REGION"] = region
    # A developer's ~/.aws/config may name endpoints or credential processes of a real account.
    os.environ["AWS_CONFIG_FILE"] = os.devnull
    os.environ["AWS_SHARED_CREDENTIALS_FILE"] = os.devnull
    for noisy in ("werkzeug", "botocore", "urllib3", "moto", "pynamodb"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def session(region: str) -> Any:
    """A boto3 session with the dummy credentials. Create clients from it in one thread (sessions are
    not thread-safe); the clients themselves may then be used from any thread. Its clients are the
    stack's own (persistence, pollers): the fault mode leaves them alone."""
    import boto3

    from inbox_local.faults import exempt

    return exempt(
        boto3.session.Session(
            region_name=region,
            aws_access_key_id=LOCAL_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=LOCAL_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
    )
