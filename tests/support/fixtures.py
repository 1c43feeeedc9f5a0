from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from inbox_local.moto_atomic import make_dynamodb_atomic
from inbox_local.template import load_template, table_create_kwargs
from support.api import ApiClient
from support.pipeline import Pipeline
from support.world import World


def _forget_caches() -> None:
    from inbox_crm.aws import reset_clients
    from inbox_crm.domain.routing import forget_routes
    from inbox_crm.settings import get_settings

    get_settings.cache_clear()
    reset_clients()
    forget_routes()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in-process, with the table (keys and GSIs from template.yaml) and the bus created."""
    from inbox_crm.settings import get_settings

    _forget_caches()
    make_dynamodb_atomic()
    settings = get_settings()
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=settings.region)
        dynamodb.create_table(**table_create_kwargs(load_template(), settings.table_name))
        boto3.client("events", region_name=settings.region).create_event_bus(Name=settings.event_bus_name)
        yield
    _forget_caches()


@pytest.fixture
def pipeline(world: World, monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    """The webhook -> queue -> ingest path, with the bus's events captured."""
    from inbox_crm.settings import get_settings

    created = Pipeline.create(get_settings().event_bus_name)
    monkeypatch.setenv("INBOUND_QUEUE_URL", created.queue_url)
    _forget_caches()
    return created


@pytest.fixture
def world(aws: None) -> World:
    """Two workspaces with an owner, a manager and an agent each."""
    return World.create()


@pytest.fixture
def api(world: World) -> ApiClient:
    return ApiClient(world)
