"""boto3 clients, created once per container on first use (boto3 import is the costliest cold-start step)."""

from __future__ import annotations

from functools import cache
from typing import Any

from inbox_crm.core.settings import get_settings


@cache
def client(service: str) -> Any:
    import boto3

    return boto3.client(service, region_name=get_settings().region)  # type: ignore[call-overload]


def reset_clients() -> None:
    """Forget cached clients (tests switch moto contexts)."""
    client.cache_clear()
