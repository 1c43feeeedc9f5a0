from __future__ import annotations

from collections.abc import Iterator

import pytest
from moto import mock_aws

from inbox_crm.core.aws import client
from inbox_local.graph_standin import GraphStandIn
from inbox_local.moto_patches import apply_moto_patches
from inbox_local.template import load_template, table_create_kwargs
from support.api import ApiClient
from support.pipeline import FlakyBus, Pipeline
from support.work import WorkQueue
from support.world import World


def _forget_caches() -> None:
    # boto3 clients are kept: moto intercepts at the botocore level, so a client created under an
    # earlier mock talks to the current one, and creating clients is the slowest part of a test.
    from inbox_crm.core.settings import get_settings
    from inbox_crm.workspaces.channels import forget_touches
    from inbox_crm.workspaces.members import forget_members
    from inbox_crm.workspaces.routing import forget_routes

    get_settings.cache_clear()
    forget_routes()
    forget_touches()
    forget_members()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """moto in-process, with the table (keys and GSIs from template.yaml) and the bus created."""
    from inbox_crm.core.settings import get_settings

    _forget_caches()
    apply_moto_patches()
    settings = get_settings()
    with mock_aws():
        client("dynamodb").create_table(**table_create_kwargs(load_template(), settings.table_name))
        client("events").create_event_bus(Name=settings.event_bus_name)
        client("s3").create_bucket(Bucket=settings.media_bucket)
        yield
    _forget_caches()


@pytest.fixture
def pipeline(world: World, monkeypatch: pytest.MonkeyPatch) -> Pipeline:
    """The webhook -> queue -> ingest path, with the bus's events captured."""
    from inbox_crm.core.settings import get_settings

    created = Pipeline.create(get_settings().event_bus_name)
    monkeypatch.setenv("INBOUND_QUEUE_URL", created.queue_url)
    _forget_caches()
    return created


@pytest.fixture
def work_queue(world: World, monkeypatch: pytest.MonkeyPatch) -> WorkQueue:
    """The scheduler -> work queue -> sender path for due sends, flow waits and broadcasts."""
    created = WorkQueue.create()
    monkeypatch.setenv("WORK_QUEUE_URL", created.queue_url)
    _forget_caches()
    return created


@pytest.fixture
def world(aws: None) -> World:
    """Two workspaces with an owner, a manager and an agent each."""
    return World.create()


@pytest.fixture
def api(world: World) -> ApiClient:
    return ApiClient(world)


# The test accounts (support.units) and the tokens Meta (the stand-in) confirms for them.
PAGE_TOKEN, IG_TOKEN, WA_TOKEN = "page-token", "ig-token", "wa-token"
TEST_WABA = "200000000000555"


@pytest.fixture
def graph(monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphStandIn]:
    """The local Graph API stand-in on a free loopback port, used by the Graph client."""
    stand_in = GraphStandIn(port=0).start()
    stand_in.grant(PAGE_TOKEN, "messenger", "100200300400", "Alpha FB")
    stand_in.grant(IG_TOKEN, "instagram", "17841400000000777", "@alpha")
    stand_in.grant(WA_TOKEN, "whatsapp", "100000000000555", "+52 55 0000 0555", waba_id=TEST_WABA)
    monkeypatch.setenv("GRAPH_API_BASE_URL", stand_in.url)
    monkeypatch.setenv(
        "LOCAL_PAGE_TOKENS", "100200300400=page-token,17841400000000777=ig-token,100000000000555=wa-token"
    )
    _forget_caches()
    yield stand_in
    stand_in.stop()
    _forget_caches()


@pytest.fixture
def meta(aws: None, graph: GraphStandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[GraphStandIn]:
    """Channels connect through the API: Meta (the stand-in) proves tokens, Secrets Manager keeps them."""
    from aws_lambda_powertools.utilities import parameters

    monkeypatch.setenv("PAGE_TOKENS_SECRET_NAME", "inbox-crm/meta/page-tokens")
    monkeypatch.delenv("LOCAL_PAGE_TOKENS")  # tokens come from what connecting stored, as in AWS
    _forget_caches()
    parameters.clear_caches()
    yield graph
    parameters.clear_caches()


@pytest.fixture
def flaky_bus(aws: None, monkeypatch: pytest.MonkeyPatch) -> FlakyBus:
    """The bus as the functions reach it, made to fail on demand (it works until told otherwise)."""
    import inbox_crm.events.outbox

    real = inbox_crm.events.outbox.client
    bus = FlakyBus(real("events"))
    monkeypatch.setattr(
        inbox_crm.events.outbox,
        "client",
        lambda service: bus if service == "events" else real(service),
    )
    return bus
