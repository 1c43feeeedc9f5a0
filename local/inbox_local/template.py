"""Reads template.yaml, the single source of truth for routes, tables, rules, queues and schedules."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

PROJECT_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_PATH = PROJECT_ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """Keeps CloudFormation short-form tags (!Ref, !Sub, !GetAtt…) as {'Fn': value} mappings."""


def _cfn_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    return {name: value}


_CfnLoader.add_multi_constructor("!", _cfn_tag)


@dataclass(frozen=True)
class HttpRoute:
    function: str
    method: str
    path: str  # API Gateway form: /v1/channels/{id}
    authorized: bool


@dataclass(frozen=True)
class FunctionSpec:
    logical_id: str
    code_uri: Path
    handler: str  # module.function
    timeout: int
    environment: dict[str, Any] = field(default_factory=dict)
    events: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def module(self) -> str:
        return self.handler.rsplit(".", 1)[0]

    @property
    def attribute(self) -> str:
        return self.handler.rsplit(".", 1)[1]


@dataclass(frozen=True)
class Template:
    raw: dict[str, Any]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        return self.raw["Resources"]

    def table(self, logical_id: str = "InboxTable") -> dict[str, Any]:
        return self.resources[logical_id]["Properties"]

    @property
    def parameter_defaults(self) -> dict[str, Any]:
        return {
            name: spec["Default"]
            for name, spec in self.raw.get("Parameters", {}).items()
            if "Default" in spec
        }

    def resources_of_type(self, resource_type: str) -> dict[str, dict[str, Any]]:
        """Logical id -> Properties of every resource of that CloudFormation type."""
        return {
            logical_id: resource.get("Properties") or {}
            for logical_id, resource in self.resources.items()
            if resource["Type"] == resource_type
        }

    @property
    def functions(self) -> dict[str, FunctionSpec]:
        globals_ = self.raw.get("Globals", {}).get("Function", {})
        specs = {}
        for logical_id, resource in self.resources.items():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            props = resource["Properties"]
            environment = dict(globals_.get("Environment", {}).get("Variables", {}))
            environment.update(props.get("Environment", {}).get("Variables", {}))
            specs[logical_id] = FunctionSpec(
                logical_id=logical_id,
                code_uri=PROJECT_ROOT / props["CodeUri"],
                handler=props["Handler"],
                timeout=int(props.get("Timeout", globals_.get("Timeout", 3))),
                environment=environment,
                events=props.get("Events", {}),
            )
        return specs

    def events_of_type(self, event_type: str) -> list[tuple[FunctionSpec, str, dict[str, Any]]]:
        return [
            (spec, name, event.get("Properties", {}))
            for spec in self.functions.values()
            for name, event in spec.events.items()
            if event["Type"] == event_type
        ]

    @property
    def http_routes(self) -> list[HttpRoute]:
        routes = []
        for spec, _, props in self.events_of_type("HttpApi"):
            authorizer = (props.get("Auth") or {}).get("Authorizer")
            routes.append(
                HttpRoute(
                    function=spec.logical_id,
                    method=props["Method"].upper(),
                    path=props["Path"],
                    authorized=authorizer != "NONE",
                )
            )
        return routes


@lru_cache(maxsize=4)
def load_template(path: Path = TEMPLATE_PATH) -> Template:
    with path.open(encoding="utf-8") as handle:
        return Template(yaml.load(handle, Loader=_CfnLoader))  # noqa: S506 - a SafeLoader subclass


def table_create_kwargs(
    template: Template, table_name: str, logical_id: str = "InboxTable"
) -> dict[str, Any]:
    """CreateTable arguments for a table exactly as template.yaml declares it."""
    props = template.table(logical_id)
    kwargs: dict[str, Any] = {
        "TableName": table_name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    stream = props.get("StreamSpecification")
    if stream:
        # CloudFormation declares only the view type; the API also wants the switch.
        kwargs["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return kwargs


def function_code_paths(template: Template | None = None) -> list[str]:
    """The CodeUri directory of every function (handler modules are uniquely named)."""
    return sorted({str(spec.code_uri) for spec in (template or load_template()).functions.values()})
