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
    finally:
        client.session.close()
        assert stack.stop() == 0, stack.log_tail()
