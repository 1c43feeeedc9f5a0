"""IAM is tested: every function's role, as CloudFormation will create it (template.yaml expanded by
the SAM translator, offline), grants each AWS action the function's code performs (its handler
module's AWS_NEEDS, kept honest by tests/support/aws_needs.py), on the resource it performs it on,
and grants nothing on "*" that a narrower resource would serve."""

from __future__ import annotations

import importlib
from functools import cache

import pytest

from inbox_local.template import load_template
from support.iam import Stack

# Parameters renamed from their defaults: a grant that hard-codes a default name fails here.
RENAMED = {
    "Stage": "staging",
    "MetaAppSecretsParameter": "/acme/meta/app-secret",
    "MetaVerifyTokenParameter": "/acme/webhook/verify",
    "PageTokensSecretName": "acme/tokens",
    "EventBusName": "acme",
}
# Actions without resource-level permissions (the Service Authorization Reference lists no resource
# type for them): only these may be granted on "*".
RESOURCELESS = {
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "xray:GetSamplingRules",
    "xray:GetSamplingTargets",
    "xray:GetSamplingStatisticSummaries",
    "cloudwatch:PutMetricData",
}
# AWS managed policies SAM attaches for logs, tracing and event source polling; nothing else.
MANAGED = {
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole",
    "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole",
}
FUNCTIONS = sorted(load_template().functions)


@cache
def stack(renamed: bool) -> Stack:
    return Stack(RENAMED if renamed else None)


def needs_of(function: str) -> dict[str, tuple[str, ...]]:
    spec = load_template().functions[function]
    module = importlib.import_module(spec.module)
    needs = getattr(module, "AWS_NEEDS", None)
    assert needs is not None, f"{spec.module} declares no AWS_NEEDS"
    return {
        action: (targets,) if isinstance(targets, str) else tuple(targets)
        for action, targets in needs.items()
    }


@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_declares_its_needs_on_template_resources(function: str) -> None:
    template = stack(False)
    for action, targets in needs_of(function).items():
        assert ":" in action, f"{function}: {action} is not service:Action"
        assert targets, f"{function}: {action} names no resource"
        bases = [target.partition("/")[0] for target in targets]
        unknown = [t for t in bases if t not in template.resources and t not in template.parameters]
        assert not unknown, f"{function}: {action} names {unknown}, not in template.yaml"


@pytest.mark.parametrize("renamed", [False, True], ids=["default-names", "renamed-parameters"])
@pytest.mark.parametrize("function", FUNCTIONS)
def test_each_function_role_grants_what_its_code_performs(function: str, renamed: bool) -> None:
    template = stack(renamed)
    role = template.function_role(function)
    missing = [
        f"{action} on {arn}"
        for action, targets in needs_of(function).items()
        for target in targets
        for arn in template.arns_for(action, target)
        if not template.allows(role, action, arn)
    ]
    assert not missing, f"{function}'s role does not grant: {missing}"


def test_no_role_grants_on_star_what_a_resource_could_narrow() -> None:
    template = stack(False)
    too_broad = []
    for logical_id, resource in template.resources.items():
        if resource["Type"] != "AWS::IAM::Role":
            continue
        for statement in template.statements(logical_id):
            if statement.effect == "Allow" and "*" in statement.resources:
                too_broad += [f"{logical_id}: {a}" for a in statement.actions if a not in RESOURCELESS]
        unknown = set(template.managed_policies(logical_id)) - MANAGED
        too_broad += [f"{logical_id}: managed policy {arn}" for arn in sorted(unknown)]
    assert not too_broad, too_broad


def test_the_evaluator_refuses_what_iam_refuses() -> None:
    # The checks above are only as good as this: a grant on another resource or action is no grant.
    template = stack(False)
    role = template.function_role("WebhookFunction")
    queue = template.arns_for("sqs:SendMessage", "InboundQueue")[0]
    assert template.allows(role, "sqs:SendMessage", queue)
    assert not template.allows(role, "sqs:DeleteQueue", queue)
    assert not template.allows(role, "sqs:SendMessage", queue.replace("inbound", "other"))
    table = template.arns_for("dynamodb:GetItem", "InboxTable")[0]
    assert not template.allows(role, "dynamodb:GetItem", table)
