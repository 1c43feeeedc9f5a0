"""docs/EVENTS.md is generated from the contracts and template.yaml, and every bus rule routes events
that have a contract (so a rule cannot wait for a detail-type nobody can publish)."""

from __future__ import annotations

from inbox_crm.events.contracts import CONTRACTS
from support.events_catalog import CATALOG, bus_rules, producers, render


def test_the_events_catalog_is_current() -> None:
    assert CATALOG.read_text(encoding="utf-8") == render(), "docs/EVENTS.md is stale: run `make events`"


def test_every_bus_rule_names_detail_types_that_have_a_contract() -> None:
    rules = bus_rules()
    assert rules
    for rule in rules:
        assert rule.detail_types, f"{rule.function}.{rule.event} matches no detail-type"
        unknown = set(rule.detail_types) - set(CONTRACTS)
        assert not unknown, f"{rule.function}.{rule.event}: no contract for {sorted(unknown)}"
        for model in (CONTRACTS[name] for name in rule.detail_types):
            # a content filter on a field the detail does not have would match nothing, silently
            assert set(rule.detail_filter) <= set(model.model_fields), (rule.function, model.DETAIL_TYPE)


def test_every_contract_has_a_producer() -> None:
    assert {name for name, modules in producers().items() if not modules} == set()
