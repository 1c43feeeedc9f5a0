"""Operational settings template.yaml must keep, whatever functions and queues are added."""

from __future__ import annotations

from inbox_local.template import load_template

# Resources whose data must survive a stack deletion or a replacement.
STATEFUL = ("AWS::DynamoDB::Table", "AWS::Cognito::UserPool", "AWS::S3::Bucket")


def test_every_queue_feeding_a_function_outlasts_six_of_its_timeouts() -> None:
    # AWS's advice for SQS event sources: a shorter visibility timeout hands a batch still being
    # processed (or retried after a throttle) to a second invocation.
    template = load_template()
    queues = template.resources_of_type("AWS::SQS::Queue")
    short = []
    for spec, name, props in template.events_of_type("SQS"):
        queue_id = props["Queue"]["Fn::GetAtt"].split(".")[0]
        visibility = int(queues[queue_id].get("VisibilityTimeout", 30))
        if visibility < 6 * spec.timeout:
            short.append(f"{queue_id} ({visibility}s) feeds {spec.logical_id}.{name} ({spec.timeout}s)")
    assert not short, short


def test_stateful_resources_are_retained() -> None:
    unprotected = [
        logical_id
        for logical_id, resource in load_template().resources.items()
        if resource["Type"] in STATEFUL
        and (resource.get("DeletionPolicy"), resource.get("UpdateReplacePolicy")) != ("Retain", "Retain")
    ]
    assert not unprotected


def test_no_function_reserves_concurrency_without_a_reason() -> None:
    # A reservation takes from the account's pool and throttles the function's own retries; sends
    # are claimed with conditional writes, so nothing relies on a single instance.
    reserved = [
        spec.logical_id
        for spec in load_template().functions.values()
        if "ReservedConcurrentExecutions" in load_template().resources[spec.logical_id]["Properties"]
    ]
    assert not reserved
