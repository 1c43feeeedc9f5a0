"""``inbox-local``: run the local stack, mint dev tokens, wipe local data, replay signed webhooks."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import time
from pathlib import Path
from types import FrameType

from inbox_local import demo
from inbox_local.config import StackConfig, data_dir_from_env, first_app_secret
from inbox_local.replay import DEFAULT_WEBHOOK_URL

READY_MARKER = "INBOX_LOCAL_READY"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="inbox-local", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="start the whole product on loopback until Ctrl-C")
    run.add_argument("--port", type=int, help="gateway port (LOCAL_PORT, 3000; 0: any free port)")
    run.add_argument("--graph-port", type=int, help="Graph API stand-in port (LOCAL_GRAPH_PORT, 3001)")
    run.add_argument("--aws-port", type=int, help="moto port (LOCAL_AWS_PORT, 4566)")
    run.add_argument("--data-dir", type=Path, help="where data persists (LOCAL_DATA_DIR, .local-data)")
    run.add_argument("--schedule-seconds", type=float, help="local schedule period (LOCAL_SCHEDULE_SECONDS)")

    token = commands.add_parser("token", help="print a dev JWT for a seeded demo user")
    token.add_argument("--role", choices=("owner", "manager", "agent"), default="owner")
    token.add_argument("--workspace", default=demo.DEMO_WORKSPACE_ID)
    token.add_argument("--user", help="user id (default: the seeded user of that role)")
    token.add_argument("--hours", type=float, default=12)

    reset = commands.add_parser("reset", help="delete the local data (re-seeded on the next run)")
    reset.add_argument("--data-dir", type=Path, help="LOCAL_DATA_DIR, .local-data")

    replay = commands.add_parser("replay", help="sign a Meta webhook body with META_APP_SECRET and post it")
    replay.add_argument("file", type=Path)
    replay.add_argument("--url", default=DEFAULT_WEBHOOK_URL)

    args = parser.parse_args(argv)
    if args.command == "run":
        return _run(args)
    if args.command == "token":
        from inbox_local.tokens import mint_token

        print(mint_token(args.role, workspace_id=args.workspace, user_id=args.user, hours=args.hours))
        return 0
    if args.command == "reset":
        return _reset(args.data_dir)
    return _replay(args.file, args.url)


def _run(args: argparse.Namespace) -> int:
    logging.basicConfig(
        level=os.environ.get("LOCAL_LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    from inbox_local.persistence import CorruptSnapshot, DataDirInUse
    from inbox_local.stack import LocalStack

    config = StackConfig.from_env(
        port=args.port,
        graph_port=args.graph_port,
        aws_port=args.aws_port,
        data_dir=args.data_dir,
        schedule_seconds=args.schedule_seconds,
    )
    # The handler only records the request: it runs between two bytecodes of the main thread, and
    # anything that takes a lock there (Event.set, logging) can deadlock against that same thread.
    # A second signal leaves at once: the journal already holds everything acknowledged.
    signals: list[int] = []

    def request_stop(signum: int, _: FrameType | None) -> None:
        if signals:
            os._exit(128 + signum)
        signals.append(signum)

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    stack = LocalStack(config)
    try:
        urls = stack.start()
    except (OSError, CorruptSnapshot, DataDirInUse) as error:
        logging.getLogger("inbox_local").error("cannot start: %s", error)
        return 1
    if not signals:
        print(_banner(stack), flush=True)
        print(f"{READY_MARKER} {json.dumps(urls.as_dict())}", flush=True)
    try:
        while not signals:
            time.sleep(0.2)
    finally:
        logging.getLogger("inbox_local").info("stopping…")
        # Should a thread never let go, the process still ends, a little after the bounded drain.
        watchdog = threading.Timer(config.drain_seconds + 7, os._exit, args=(1,))
        watchdog.daemon = True
        watchdog.start()
        stack.stop()
    # Everything is stopped and saved. Tearing down the interpreter would then spend seconds freeing
    # moto's in-memory backends object by object, on every Ctrl-C: flush and leave instead.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _banner(stack: object) -> str:
    from inbox_local.stack import LocalStack
    from inbox_local.tokens import mint_token

    assert isinstance(stack, LocalStack)
    assert stack.urls is not None
    assert stack.resources is not None
    urls, config, resources = stack.urls, stack.config, stack.resources
    token = mint_token("owner", secret=config.jwt_secret)
    channels = "  ".join(f"{c.platform} {c.account_id}" for c in demo.CHANNELS)
    names = ", ".join([*resources.tables.values(), *resources.buses.values()])
    return "\n".join(
        [
            "",
            "Inbox CRM — local stack",
            f"  App        {urls.url}/",
            f"  API docs   {urls.docs_url}   (OpenAPI: {urls.url}/v1/openapi.json)",
            f"  Webhook    {urls.url}/webhooks/meta   verify token: {config.meta_verify_token}",
            "             `inbox-local replay FILE` signs deliveries with META_APP_SECRET",
            f"  Graph API  {urls.graph_url}   stand-in; what was sent: {urls.graph_url}/_control/requests",
            f"  AWS (moto) {urls.aws_url}   ({names})",
            f"  Demo       workspace {demo.DEMO_WORKSPACE_ID}: {channels}",
            f"  Data       {urls.data_dir}   (`inbox-local reset` wipes it)",
            "  Owner token (12 h; `inbox-local token --role agent` for others):",
            f"    {token}",
            f'  curl -H "Authorization: Bearer {token}" {urls.url}/v1/me',
            "  Ctrl-C stops (data is saved).",
            "",
        ]
    )


def _reset(data_dir: Path | None) -> int:
    from inbox_local.persistence import DataDirLock, reset_data_dir

    directory = data_dir.expanduser().resolve() if data_dir else data_dir_from_env()
    holder = DataDirLock(directory).holder()
    if holder is not None:
        print(f"A local stack (pid {holder}) is using {directory}: stop it first.", file=sys.stderr)
        return 1
    removed = reset_data_dir(directory)
    if not removed:
        print(f"Nothing to remove: {directory} holds no data.")
        return 0
    print(f"Removed {directory}:")
    for path in removed:
        print(f"  {path.relative_to(directory)}")
    return 0


def _replay(file: Path, url: str) -> int:
    from inbox_local.replay import replay

    try:
        status, body = replay(file, url, first_app_secret())
    except (OSError, ValueError) as error:
        print(f"replay failed: {error}", file=sys.stderr)
        return 1
    print(status)
    if body:
        print(body)
    return 0 if 200 <= status < 300 else 1


if __name__ == "__main__":
    sys.exit(main())
