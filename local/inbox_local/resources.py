"""Creates in moto what template.yaml declares (tables, queues, buses, rules) and resolves the
template's !Ref / !GetAtt / !Sub to the local names, so function environments point at them.

Local physical names derive from logical ids (``InboxTable`` → ``inbox``, ``InboundQueue`` →
``inbound.fifo``); the bus that functions reach through EVENT_BUS_NAME is named by that setting.
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass, field
from typing import Any

from inbox_local.aws import ACCOUNT_ID
from inbox_local.template import FunctionSpec, Template, table_create_kwargs

log = logging.getLogger("inbox_local.resources")

TABLE_TYPE = "AWS::DynamoDB::Table"
QUEUE_TYPE = "AWS::SQS::Queue"
BUS_TYPE = "AWS::Events::EventBus"
BUCKET_TYPE = "AWS::S3::Bucket"
FUNCTION_TYPE = "AWS::Serverless::Function"

# SQS attributes moto honours that change behaviour locally (encryption and tags do not).
_QUEUE_ATTRIBUTES = (
    "FifoQueue",
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "FifoThroughputLimit",
    "VisibilityTimeout",
    "MessageRetentionPeriod",
    "DelaySeconds",
    "MaximumMessageSize",
    "ReceiveMessageWaitTimeSeconds",
)


def local_name(logical_id: str) -> str:
    """InboundDeadLetterQueue -> inbound-dead-letter: the logical id minus its type, kebab-cased."""
    stem = re.sub(r"(Table|Queue|Bus|Bucket)$", "", logical_id) or logical_id
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", stem).lower()


@dataclass(frozen=True)
class Queue:
    logical_id: str
    name: str
    url: str
    arn: str

    @property
    def fifo(self) -> bool:
        return self.name.endswith(".fifo")


@dataclass(frozen=True)
class RuleBinding:
    """An EventBridgeRule event of a function: the moto rule and the queue its matches land in."""

    function: FunctionSpec
    event_name: str
    rule_name: str
    bus_name: str
    queue: Queue
    properties: dict[str, Any]


@dataclass
class LocalResources:
    template: Template
    region: str
    bus_name: str
    tables: dict[str, str] = field(default_factory=dict)  # logical id -> table name
    streams: dict[str, str] = field(default_factory=dict)  # table logical id -> its stream's ARN
    queues: dict[str, Queue] = field(default_factory=dict)  # logical id -> queue
    buses: dict[str, str] = field(default_factory=dict)  # logical id -> bus name
    rules: list[RuleBinding] = field(default_factory=list)
    buckets: dict[str, str] = field(default_factory=dict)  # logical id -> bucket name

    # ------------------------------------------------------------------ intrinsic functions
    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::StackName": "inbox-local",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.template.parameter_defaults:
            return self.template.parameter_defaults[name]
        if name in self.tables:
            return self.tables[name]
        if name in self.queues:
            return self.queues[name].url
        if name in self.buses:
            return self.buses[name]
        if name in self.buckets:
            return self.buckets[name]
        if self.template.resources.get(name, {}).get("Type") == FUNCTION_TYPE:
            return name
        return None

    def get_att(self, logical_id: str, attribute: str) -> Any:
        if logical_id in self.queues:
            queue = self.queues[logical_id]
            return {"Arn": queue.arn, "QueueName": queue.name, "QueueUrl": queue.url}.get(attribute)
        if logical_id in self.tables and attribute == "Arn":
            return f"arn:aws:dynamodb:{self.region}:{ACCOUNT_ID}:table/{self.tables[logical_id]}"
        if logical_id in self.tables and attribute == "StreamArn":
            return self.streams.get(logical_id)
        if logical_id in self.buses:
            name = self.buses[logical_id]
            return {"Name": name, "Arn": f"arn:aws:events:{self.region}:{ACCOUNT_ID}:event-bus/{name}"}.get(
                attribute
            )
        return None

    def resolve(self, value: Any) -> Any:
        """A template value with !Ref / !GetAtt / !Sub / !Join resolved locally; None if it cannot be."""
        if not isinstance(value, dict) or len(value) != 1:
            return value
        function, argument = next(iter(value.items()))
        if function == "Ref":
            return self.ref(argument)
        if function == "Fn::GetAtt":
            logical_id, attribute = argument.split(".", 1) if isinstance(argument, str) else argument
            return self.get_att(logical_id, attribute)
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return self._sub(text, variables)
        if function == "Fn::Join":
            separator, parts = argument
            resolved = [self.resolve(part) for part in parts]
            return None if any(part is None for part in resolved) else separator.join(map(str, resolved))
        return None

    def _sub(self, text: str, variables: dict[str, Any]) -> str | None:
        unresolved: list[str] = []

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                value = self.resolve(variables[name])
            elif "." in name:
                value = self.get_att(*name.split(".", 1))
            else:
                value = self.ref(name)
            if value is None:
                unresolved.append(name)
                return ""
            return str(value)

        result = re.sub(r"\$\{([^!}][^}]*)\}", replace, text)
        return None if unresolved else result

    def function_environment(self, spec: FunctionSpec) -> dict[str, str]:
        environment = {}
        for name, value in spec.environment.items():
            resolved = self.resolve(value)
            if resolved is None:
                log.warning("%s: environment variable %s cannot be resolved locally", spec.logical_id, name)
                continue
            environment[name] = str(resolved)
        return environment

    def queue_by_arn(self, arn: str) -> Queue | None:
        return next((queue for queue in self.queues.values() if queue.arn == arn), None)

    def queue_for(self, value: Any) -> Queue | None:
        """The local queue a template value (ARN, URL or name, possibly an intrinsic) designates."""
        resolved = self.resolve(value)
        return next(
            (queue for queue in self.queues.values() if resolved in (queue.arn, queue.url, queue.name)),
            None,
        )


def provision(
    template: Template, dynamodb: Any, sqs: Any, events: Any, region: str, bus_name: str, s3: Any = None
) -> LocalResources:
    """Creates every table, queue, bus, bucket and EventBridge rule of the template in a fresh moto."""
    resources = LocalResources(template=template, region=region, bus_name=bus_name)
    for logical_id in template.resources_of_type(BUCKET_TYPE) if s3 is not None else []:
        bucket_name = f"inbox-local-{local_name(logical_id)}"
        s3.create_bucket(Bucket=bucket_name)
        resources.buckets[logical_id] = bucket_name
    for logical_id in template.resources_of_type(TABLE_TYPE):
        table_name = local_name(logical_id)
        created = dynamodb.create_table(**table_create_kwargs(template, table_name, logical_id))
        resources.tables[logical_id] = table_name
        stream_arn = created["TableDescription"].get("LatestStreamArn")
        if stream_arn:
            resources.streams[logical_id] = stream_arn
    _create_queues(resources, sqs)
    _create_buses(resources, events)
    _create_rules(resources, sqs, events)
    return resources


def _create_queues(resources: LocalResources, sqs: Any) -> None:
    pending = dict(resources.template.resources_of_type(QUEUE_TYPE))
    # Dead-letter queues first: a queue's RedrivePolicy names its DLQ's ARN.
    while pending:
        progressed = False
        for logical_id, props in list(pending.items()):
            attributes = {name: _attribute(props[name]) for name in _QUEUE_ATTRIBUTES if name in props}
            redrive = props.get("RedrivePolicy")
            if redrive:
                target = resources.queue_for(redrive.get("deadLetterTargetArn"))
                if target is None:
                    continue
                attributes["RedrivePolicy"] = json.dumps(
                    {"deadLetterTargetArn": target.arn, "maxReceiveCount": int(redrive["maxReceiveCount"])}
                )
            name = local_name(logical_id) + (".fifo" if attributes.get("FifoQueue") == "true" else "")
            resources.queues[logical_id] = create_queue(sqs, name, attributes, logical_id)
            del pending[logical_id]
            progressed = True
        if not progressed:
            log.warning("queues whose dead-letter queue is not in the template: %s", ", ".join(pending))
            break


def create_queue(sqs: Any, name: str, attributes: dict[str, str], logical_id: str = "") -> Queue:
    cap = os.environ.get("LOCAL_SQS_MAX_VISIBILITY_SECONDS")
    if cap and int(attributes.get("VisibilityTimeout", 30)) > int(cap):
        # `make chaos`: a failed batch comes back in seconds, not after the template's minutes.
        attributes = {**attributes, "VisibilityTimeout": str(int(cap))}
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return Queue(logical_id=logical_id or name, name=name, url=url, arn=arn)


def _attribute(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _create_buses(resources: LocalResources, events: Any) -> None:
    buses = list(resources.template.resources_of_type(BUS_TYPE))
    configured = _bus_named_by_setting(resources.template, buses)
    for logical_id in buses:
        name = resources.bus_name if logical_id == configured else local_name(logical_id)
        events.create_event_bus(Name=name)
        resources.buses[logical_id] = name


def _bus_named_by_setting(template: Template, buses: list[str]) -> str | None:
    """The bus functions reach through EVENT_BUS_NAME (the only bus, if none is referenced)."""
    for spec in template.functions.values():
        reference = spec.environment.get("EVENT_BUS_NAME")
        if isinstance(reference, dict) and reference.get("Ref") in buses:
            return str(reference["Ref"])
    return buses[0] if buses else None


def _create_rules(resources: LocalResources, sqs: Any, events: Any) -> None:
    for spec, event_name, props in resources.template.events_of_type("EventBridgeRule"):
        bus_name = resources.resolve(props.get("EventBusName")) or "default"
        # SAM names a rule after the function and the event; AWS caps rule names at 64 characters.
        rule_name = f"{spec.logical_id}{event_name}"[:64]
        visibility = str(max(30, spec.timeout * 6))
        queue = create_queue(sqs, f"local-rule-{rule_name}"[:80], {"VisibilityTimeout": visibility})
        events.put_rule(
            Name=rule_name,
            EventBusName=bus_name,
            EventPattern=json.dumps(props.get("Pattern") or {}),
            State="ENABLED" if props.get("State", "ENABLED") == "ENABLED" else "DISABLED",
        )
        events.put_targets(
            Rule=rule_name, EventBusName=bus_name, Targets=[{"Id": "local-consumer", "Arn": queue.arn}]
        )
        resources.rules.append(RuleBinding(spec, event_name, rule_name, bus_name, queue, props))


def dead_letter_queue(resources: LocalResources, sqs: Any, owner: str, props: dict[str, Any]) -> Queue | None:
    """The queue an event source's DeadLetterConfig names (an ARN, or ``Type: SQS`` for SAM's own)."""
    config = props.get("DeadLetterConfig") or {}
    if "Arn" in config:
        queue = resources.queue_for(config["Arn"])
        if queue is None:
            log.warning("%s: dead-letter target %s is not a local queue", owner, config["Arn"])
        return queue
    if config.get("Type") == "SQS":
        return create_queue(sqs, f"local-dlq-{owner}"[:80], {})
    return None
