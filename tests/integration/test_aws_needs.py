"""The AWS calls a function's handler makes are recorded as that function's (tests/support/aws_needs.py),
so AWS_NEEDS cannot silently miss one. Here the paths that the other tests take through environment
shortcuts: page tokens from Secrets Manager and Meta's secrets from SSM, as in AWS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from aws_lambda_powertools.utilities import parameters

from inbox_crm.core.aws import client
from inbox_crm.core.settings import get_settings
from inbox_crm.core.timeutil import to_millis, utcnow
from inbox_crm.ingest.pipeline import ingest
from inbox_crm.store.models import Conversation, InboxItem
from inbox_crm.workspaces import channels
from inbox_local import aws_actions
from inbox_local.graph_standin import GraphStandIn
from support.api import ApiClient
from support.pipeline import Pipeline
from support.units import PAGE, unit
from support.world import World


@pytest.fixture
def ledger(monkeypatch: pytest.MonkeyPatch) -> aws_actions.Ledger:
    """A ledger of this test's calls only."""
    fresh = aws_actions.Ledger()
    monkeypatch.setattr(aws_actions, "LEDGER", fresh)
    return fresh


@pytest.fixture
def secrets_as_in_aws(monkeypatch: pytest.MonkeyPatch, graph: GraphStandIn) -> Iterator[None]:
    monkeypatch.delenv("LOCAL_PAGE_TOKENS")
    monkeypatch.delenv("META_APP_SECRET")
    monkeypatch.delenv("META_VERIFY_TOKEN")
    monkeypatch.setenv("PAGE_TOKENS_SECRET_NAME", "inbox-crm/meta/page-tokens")
    monkeypatch.setenv("META_APP_SECRETS_PARAMETER", "/inbox-crm/meta/app-secrets")
    monkeypatch.setenv("META_VERIFY_TOKEN_PARAMETER", "/inbox-crm/meta/verify-token")
    client("secretsmanager").create_secret(
        Name="inbox-crm/meta/page-tokens", SecretString=json.dumps({PAGE: "page-token"})
    )
    ssm = client("ssm")
    ssm.put_parameter(Name="/inbox-crm/meta/app-secrets", Value="test-app-secret", Type="SecureString")
    ssm.put_parameter(Name="/inbox-crm/meta/verify-token", Value="verify-me", Type="SecureString")
    get_settings.cache_clear()
    parameters.clear_caches()
    yield
    parameters.clear_caches()
    get_settings.cache_clear()


def test_an_agent_reply_reads_the_page_token_as_the_api_function(
    api: ApiClient, world: World, secrets_as_in_aws: None, ledger: aws_actions.Ledger
) -> None:
    # The failure this reproduces: in AWS ApiFunction's role could not read this secret.
    channels.register_channel("ws_alpha", "messenger", PAGE, "Alpha FB", "usr_alpha_owner")
    ingest(unit(text="hola", timestamp_ms=to_millis(utcnow())))
    [conversation] = [item for item in InboxItem.scan() if isinstance(item, Conversation)]
    reply = api.post(f"/v1/conversations/{conversation.conversation_id}/messages", {"text": "¡hola!"})
    assert reply.status == 201, reply.text
    assert reply.json()["status"] == "sent"
    assert "secretsmanager:GetSecretValue" in ledger.observed["ApiFunction"]
    assert ledger.undeclared == {}


def test_the_webhook_reads_meta_secrets_from_ssm_as_the_webhook_function(
    pipeline: Pipeline, secrets_as_in_aws: None, ledger: aws_actions.Ledger
) -> None:
    assert (
        pipeline.verify(
            {"hub.mode": "subscribe", "hub.verify_token": "verify-me", "hub.challenge": "c"}
        ).status
        == 200
    )
    assert pipeline.post({"object": "page", "entry": []}).status == 200
    assert ledger.observed["WebhookFunction"] >= {"ssm:GetParameter"}
    assert ledger.undeclared == {}


def test_an_undeclared_call_is_caught_and_attributed_even_from_a_worker_thread(
    aws: None, ledger: aws_actions.Ledger
) -> None:
    declared = frozenset({"sqs:CreateQueue"})
    with aws_actions.running("SomeFunction", declared), ThreadPoolExecutor(max_workers=1) as pool:
        url = client("sqs").create_queue(QueueName="q")["QueueUrl"]
        pool.submit(
            client("sqs").send_message_batch, QueueUrl=url, Entries=[{"Id": "1", "MessageBody": "x"}]
        ).result()
    client("sqs").purge_queue(QueueUrl=url)  # outside any function: not recorded
    assert ledger.observed == {"SomeFunction": {"sqs:CreateQueue", "sqs:SendMessage"}}
    assert ledger.undeclared == {"SomeFunction": {"sqs:SendMessage"}}


def test_transactions_are_recorded_as_the_item_actions_iam_checks() -> None:
    items = {"TransactItems": [{"Put": {}}, {"ConditionCheck": {}}, {"Update": {}}]}
    assert aws_actions.iam_actions("dynamodb", "TransactWriteItems", items) == [
        "dynamodb:ConditionCheckItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ]
    assert aws_actions.iam_actions("s3", "HeadObject", {}) == ["s3:GetObject"]
