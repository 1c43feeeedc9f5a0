from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws

from inbox_local.template import load_template, table_create_kwargs
from support.api import ApiClient
from support.world import World


@pytest.fixture
def aws() -> Iterator[None]:
    """moto in-process, with the table (keys and GSIs from template.yaml), queue and bus created."""
    from inbox_crm.settings import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name=settings.region)
        dynamodb.create_table(**table_create_kwargs(load_template(), settings.table_name))
        boto3.client("events", region_name=settings.region).create_event_bus(Name=settings.event_bus_name)
        yield


@pytest.fixture
def world(aws: None) -> World:
    """Two workspaces with an owner, a manager and an agent each."""
    return World.create()


@pytest.fixture
def api(world: World) -> ApiClient:
    return ApiClient(world)
