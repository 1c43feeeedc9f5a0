"""template.yaml as CloudFormation would see it (SAM-expanded offline), and a small IAM evaluator.

``expand`` runs the SAM translator without AWS (code URIs replaced by S3 URIs, as ``sam package``
would; managed policy names are not looked up). ``Stack`` resolves the intrinsics of the expanded
template to concrete strings (fake physical ids, chosen parameter values), so a role's statements
and the ARNs a function touches can be compared the way IAM compares them.

``python -m support.iam > expanded.json`` prints the expanded template (``make lint`` lints it).
"""

from __future__ import annotations

import copy
import json
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from inbox_local.template import load_template

PARTITION, REGION, ACCOUNT = "aws", "us-east-1", "123456789012"


def expand(parameters: dict[str, str] | None = None) -> dict[str, Any]:
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
    from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
    from samtranslator.translator.transform import transform

    class OfflinePolicies(ManagedPolicyLoader):
        def __init__(self) -> None:  # no IAM client: policies are given as ARNs
            pass

        def load(self) -> dict[str, str]:
            return {}

    raw = copy.deepcopy(load_template().raw)
    for resource in raw["Resources"].values():
        properties = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(properties.get(key), str):
                properties[key] = f"s3://artifacts/{properties[key].strip('/')}.zip"
    return transform(raw, parameters or {}, OfflinePolicies())


@dataclass(frozen=True)
class Statement:
    effect: str
    actions: tuple[str, ...]
    resources: tuple[str, ...]

    def allows(self, action: str, arn: str) -> bool:
        return any(fnmatchcase(action.lower(), pattern.lower()) for pattern in self.actions) and any(
            fnmatchcase(arn, pattern) for pattern in self.resources
        )


class Stack:
    """The expanded template with every intrinsic resolved to a concrete value."""

    def __init__(self, parameters: dict[str, str] | None = None) -> None:
        self.template = expand(parameters)
        self.parameters = {
            name: str(spec.get("Default", "")) for name, spec in self.template.get("Parameters", {}).items()
        } | dict(parameters or {})
        self.resources: dict[str, dict[str, Any]] = self.template["Resources"]

    # ------------------------------------------------------------------ intrinsics
    def resolve(self, value: Any) -> Any:
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, argument),) = value.items()
            if key == "Ref":
                return self.ref(argument)
            if key == "Fn::GetAtt":
                logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
                return self.get_att(logical_id, attribute)
            if key == "Fn::Sub":
                return self._sub(argument)
            if key == "Fn::Join":
                separator, parts = argument
                return separator.join(str(part) for part in self.resolve(parts))
            if key == "Fn::If":
                raise ValueError(f"conditional values are not evaluated here: {value}")
        return {key: self.resolve(item) for key, item in value.items()}

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        resolved = {name: self.resolve(item) for name, item in variables.items()}

        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in resolved:
                return str(resolved[name])
            if "." in name:
                logical_id, attribute = name.split(".", 1)
                return str(self.get_att(logical_id, attribute))
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!]+)\}", replace, text)

    def ref(self, name: str) -> str:
        pseudo = {
            "AWS::Partition": PARTITION,
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::StackName": "inbox-crm",
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.parameters:
            return self.parameters[name]
        kind = self.resources[name]["Type"]
        if kind == "AWS::SQS::Queue":
            return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{self._queue_name(name)}"
        if kind in ("AWS::SNS::Topic", "AWS::Lambda::LayerVersion"):
            return self.get_att(name, "Arn")
        return self.physical_name(name)

    def physical_name(self, logical_id: str) -> str:
        properties = self.resources[logical_id].get("Properties") or {}
        for key in ("Name", "TableName", "BucketName", "QueueName", "TopicName", "FunctionName"):
            if key in properties:
                return str(self.resolve(properties[key]))
        return f"inbox-crm-{logical_id.lower()}-x1y2z3"

    def _queue_name(self, logical_id: str) -> str:
        name = self.physical_name(logical_id)
        fifo = (self.resources[logical_id].get("Properties") or {}).get("FifoQueue")
        return f"{name}.fifo" if fifo and not name.endswith(".fifo") else name

    def get_att(self, logical_id: str, attribute: str) -> str:
        kind = self.resources[logical_id]["Type"]
        if kind == "AWS::SQS::Queue":
            name = self._queue_name(logical_id)
            return {"QueueName": name, "Arn": f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{name}"}[attribute]
        name = self.physical_name(logical_id)
        arns = {
            "AWS::DynamoDB::Table": f"arn:{PARTITION}:dynamodb:{REGION}:{ACCOUNT}:table/{name}",
            "AWS::Events::EventBus": f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:event-bus/{name}",
            "AWS::S3::Bucket": f"arn:{PARTITION}:s3:::{name}",
            "AWS::SNS::Topic": f"arn:{PARTITION}:sns:{REGION}:{ACCOUNT}:{name}",
            "AWS::Lambda::Function": f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{name}",
            "AWS::IAM::Role": f"arn:{PARTITION}:iam::{ACCOUNT}:role/{name}",
            "AWS::Logs::LogGroup": f"arn:{PARTITION}:logs:{REGION}:{ACCOUNT}:log-group:{name}:*",
        }
        if attribute == "StreamArn" and kind == "AWS::DynamoDB::Table":
            return f"{arns[kind]}/stream/2026-01-01T00:00:00.000"
        if attribute == "Arn" and kind in arns:
            return arns[kind]
        return f"arn:{PARTITION}:{kind.split('::')[1].lower()}:{REGION}:{ACCOUNT}:{name}/{attribute}"

    # ------------------------------------------------------------------ roles
    def function_role(self, function: str) -> str:
        role = self.resources[function]["Properties"]["Role"]
        logical_id = role["Fn::GetAtt"][0] if isinstance(role["Fn::GetAtt"], list) else role["Fn::GetAtt"]
        return str(logical_id).split(".")[0]

    def statements(self, role: str) -> Iterator[Statement]:
        for policy in self.resources[role]["Properties"].get("Policies") or []:
            for raw in self.resolve(policy["PolicyDocument"])["Statement"]:
                if "NotAction" in raw or "NotResource" in raw:
                    raise ValueError(f"{role}: NotAction / NotResource are not evaluated: {raw}")
                yield Statement(raw["Effect"], _strings(raw["Action"]), _strings(raw["Resource"]))

    def managed_policies(self, role: str) -> list[str]:
        return [
            str(self.resolve(arn))
            for arn in self.resources[role]["Properties"].get("ManagedPolicyArns") or []
        ]

    def allows(self, role: str, action: str, arn: str) -> bool:
        statements = list(self.statements(role))
        if any(s.effect == "Deny" and s.allows(action, arn) for s in statements):
            return False
        return any(s.effect == "Allow" and s.allows(action, arn) for s in statements)

    # ------------------------------------------------------------------ what code touches
    def arns_for(self, action: str, target: str) -> list[str]:
        """The ARNs a call of ``action`` on the template's ``target`` (resource or parameter) reaches."""
        service, name = action.split(":", 1)
        # "Parameter/suffix": names under the parameter's (one secret per account: "<name>/*").
        base, _, suffix = target.partition("/")
        if base in self.parameters:
            value = self.parameters[base] + (f"/{suffix.replace('*', 'some-account')}" if suffix else "")
            if service == "ssm":
                return [f"arn:{PARTITION}:ssm:{REGION}:{ACCOUNT}:parameter/{value.lstrip('/')}"]
            if service == "secretsmanager":
                # Secrets Manager appends six random characters to a secret's ARN.
                return [f"arn:{PARTITION}:secretsmanager:{REGION}:{ACCOUNT}:secret:{value}-AbC123"]
            raise ValueError(f"{action}: parameter {target} names no {service} resource")
        kind = self.resources[target]["Type"]
        arn = self.get_att(target, "Arn")
        if kind == "AWS::DynamoDB::Table" and name in ("Query", "Scan"):
            indexes = (self.resources[target]["Properties"].get("GlobalSecondaryIndexes")) or []
            return [arn, *(f"{arn}/index/{index['IndexName']}" for index in indexes)]
        if kind == "AWS::S3::Bucket" and name not in ("ListBucket", "GetBucketLocation"):
            return [f"{arn}/uploads/some-object"]
        return [arn]


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(item) for item in (value if isinstance(value, list) else [value]))


if __name__ == "__main__":
    json.dump(expand(), sys.stdout, indent=1)
    sys.stdout.write("\n")
