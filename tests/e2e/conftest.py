"""Fixtures for end-to-end tests: the local stack in a subprocess (see local_stack_support)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from e2e.local_stack_support import LocalStackClient, client_for, start_stack


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackClient]:
    stack = start_stack(tmp_path_factory.mktemp("local-stack") / "data")
    client = client_for(stack)
    try:
        yield client
        # Every AWS call the stack's functions made must be in their AWS_NEEDS (inbox_local.aws_actions).
        undeclared = {
            name: function["undeclared_aws_actions"]
            for name, function in client.status()["functions"].items()
            if function["undeclared_aws_actions"]
        }
        assert not undeclared, f"functions performed AWS actions they do not declare: {undeclared}"
    finally:
        client.session.close()
        assert stack.stop() == 0, stack.log_tail()
