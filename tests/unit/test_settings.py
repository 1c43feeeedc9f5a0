"""Settings fail fast at cold start; local-only secrets come from the local stack, not production code."""

from __future__ import annotations

import pytest

from inbox_crm.core import secrets
from inbox_crm.core.settings import MissingSettings, settings_from_environ
from inbox_local import local_secrets
from support.cold_start import handler_modules, import_fresh

ENV = {"TABLE_NAME": "inbox-x", "EVENT_BUS_NAME": "bus-x", "AWS_REGION": "eu-west-1"}


def test_settings_name_every_missing_variable() -> None:
    with pytest.raises(MissingSettings) as missing:
        settings_from_environ({"AWS_REGION": "eu-west-1"}, require=("WORK_QUEUE_URL",))

    assert missing.value.names == ["TABLE_NAME", "EVENT_BUS_NAME", "WORK_QUEUE_URL"]
    assert "TABLE_NAME, EVENT_BUS_NAME, WORK_QUEUE_URL" in str(missing.value)


def test_no_default_stands_in_for_a_resource_name() -> None:
    settings = settings_from_environ(ENV)

    assert (settings.table_name, settings.event_bus_name, settings.region) == (
        "inbox-x",
        "bus-x",
        "eu-west-1",
    )
    with pytest.raises(MissingSettings, match="EVENT_BUS_NAME"):
        settings_from_environ({**ENV, "EVENT_BUS_NAME": " "})


@pytest.mark.parametrize(
    ("logical_id", "variable"),
    [
        ("WebhookFunction", "INBOUND_QUEUE_URL"),
        ("SenderFunction", "WORK_QUEUE_URL"),
        ("ApiFunction", "TABLE_NAME"),
    ],
)
def test_a_handler_fails_its_cold_start_naming_the_missing_variable(logical_id: str, variable: str) -> None:
    module, path = handler_modules()[logical_id]

    with pytest.raises(RuntimeError, match=f"MissingSettings: Required environment variable.*{variable}"):
        import_fresh(module, path, {variable: ""})


def test_local_secrets_are_the_local_stacks_not_production_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOCAL_PAGE_TOKENS", "123=local-token")
    monkeypatch.setenv("META_APP_SECRET", "local-secret")
    monkeypatch.delenv("PAGE_TOKENS_SECRET_NAME", raising=False)
    monkeypatch.delenv("META_APP_SECRETS_PARAMETER", raising=False)
    try:
        secrets.use_local_secrets(None)  # as in AWS: nothing registered, the variables mean nothing
        assert secrets.page_token("123") is None
        assert secrets.meta_app_secrets() == ()

        local_secrets.install()  # what the local stack (and tests/conftest.py) do
        assert secrets.page_token("123") == "local-token"
        assert secrets.page_token("456") is None
        assert secrets.meta_app_secrets() == ("local-secret",)
    finally:
        local_secrets.install()
