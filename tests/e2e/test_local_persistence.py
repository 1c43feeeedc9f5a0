"""Local data survives a restart; `inbox-local reset` wipes it and the next start re-seeds."""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e.local_stack_support import LocalStackClient, client_for, run_cli, start_stack
from inbox_local import demo

pytestmark = pytest.mark.e2e


def _channel_names(stack: LocalStackClient) -> set[str]:
    reply = stack.call("GET", "/v1/channels", role="owner")
    assert reply.status_code == 200
    return {channel["name"] for channel in reply.json()["items"]}


def test_data_survives_a_restart_until_reset(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    seeded = {channel.name for channel in demo.CHANNELS}

    first = start_stack(data_dir)
    try:
        client = client_for(first)
        token = client.grant("messenger", "424242424242")
        created = client.call(
            "POST",
            "/v1/channels",
            role="owner",
            json={
                "platform": "messenger",
                "account_id": "424242424242",
                "name": "Survives restarts",
                "access_token": token,
            },
        )
        assert created.status_code == 201
        # A second stack on the same data would overwrite this one's dumps: it refuses to start.
        refused = run_cli("run", "--port", "0", "--graph-port", "0", "--aws-port", "0", data_dir=data_dir)
        assert refused.returncode == 1
        assert "another local stack" in refused.stderr + refused.stdout
    finally:
        assert first.stop() == 0, first.log_tail()

    second = start_stack(data_dir)
    try:
        assert _channel_names(client_for(second)) == seeded | {"Survives restarts"}
    finally:
        assert second.stop() == 0, second.log_tail()

    reset = run_cli("reset", data_dir=data_dir)
    assert reset.returncode == 0, reset.stderr
    assert "dynamodb" in reset.stdout
    assert not data_dir.exists()

    third = start_stack(data_dir)
    try:
        assert _channel_names(client_for(third)) == seeded
    finally:
        assert third.stop() == 0, third.log_tail()
