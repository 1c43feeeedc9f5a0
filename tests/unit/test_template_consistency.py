"""template.yaml is the single source of truth: the models and the API must say exactly the same."""

from __future__ import annotations

import re
from pathlib import Path

from inbox_crm.api.app import app
from inbox_crm.store.models import ALL_MODELS, InboxItem
from inbox_crm.workspaces.permissions import permissions_markdown
from inbox_local.template import PROJECT_ROOT, load_template


def _template_table() -> dict:
    return load_template().table("InboxTable")


def test_model_keys_match_the_template_table() -> None:
    table = _template_table()
    template_keys = {(key["AttributeName"], key["KeyType"]) for key in table["KeySchema"]}
    model_keys = {
        (name, "HASH" if attribute.is_hash_key else "RANGE")
        for name, attribute in InboxItem.get_attributes().items()
        if attribute.is_hash_key or attribute.is_range_key
    }
    assert model_keys == template_keys


def test_model_indexes_match_the_template_gsis() -> None:
    table = _template_table()
    template_indexes = {
        gsi["IndexName"]: (
            {(key["AttributeName"], key["KeyType"]) for key in gsi["KeySchema"]},
            gsi["Projection"]["ProjectionType"],
        )
        for gsi in table["GlobalSecondaryIndexes"]
    }
    model_indexes = {}
    for index in InboxItem._indexes.values():
        schema = index._get_schema()
        keys = {(key["AttributeName"], key["KeyType"]) for key in schema["key_schema"]}
        model_indexes[index.Meta.index_name] = (keys, index.Meta.projection.projection_type)
    assert model_indexes == template_indexes


def test_every_key_attribute_type_matches_the_template() -> None:
    declared = {a["AttributeName"]: a["AttributeType"] for a in _template_table()["AttributeDefinitions"]}
    model_attributes = InboxItem.get_attributes()
    assert {name: model_attributes[name].attr_type for name in declared} == declared


def test_ttl_attribute_matches_the_template() -> None:
    ttl = _template_table()["TimeToLiveSpecification"]
    assert ttl["Enabled"] is True
    assert InboxItem.get_attributes()[ttl["AttributeName"]].__class__.__name__ == "TTLAttribute"


def test_every_model_lives_in_the_one_table() -> None:
    assert {model.Meta.table_name for model in ALL_MODELS} == {InboxItem.Meta.table_name}


def _normalise(path: str) -> str:
    return re.sub(r"\{[^}]+\}|<[^>]+>", "{}", path)


def test_api_routes_match_the_template_routes() -> None:
    template_routes = {
        (route.method, _normalise(route.path))
        for route in load_template().http_routes
        if route.function == "ApiFunction"
    }
    resolver_routes = {
        (route.method, _normalise(route.path)) for route in app._static_routes + app._dynamic_routes
    }
    assert resolver_routes == template_routes


def test_only_the_webhook_and_the_openapi_document_skip_the_authorizer() -> None:
    public = {(route.method, route.path) for route in load_template().http_routes if not route.authorized}
    assert public == {("GET", "/webhooks/meta"), ("POST", "/webhooks/meta"), ("GET", "/v1/openapi.json")}


def test_permission_table_in_the_docs_is_the_enforced_one() -> None:
    doc = Path(PROJECT_ROOT / "docs" / "PERMISSIONS.md").read_text(encoding="utf-8")
    assert permissions_markdown() in doc
