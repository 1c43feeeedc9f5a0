"""The one typed settings object. Only this module reads the process environment."""

from __future__ import annotations

import os
from functools import lru_cache

from pydantic import BaseModel, Field


class Settings(BaseModel):
    table_name: str = "inbox"
    event_bus_name: str = "inbox"
    inbound_queue_url: str | None = None
    # An unknown send outcome that no echo or status confirms within this time ends failed.
    unconfirmed_after_seconds: int = 1800
    work_queue_url: str | None = None  # due sends, flow waits and broadcast pages (dispatch/work.py)
    media_bucket: str | None = None
    region: str = "us-east-1"
    # Local stack / tests: secrets straight from the environment. In AWS: SSM / Secrets Manager names.
    meta_app_secrets: tuple[str, ...] = ()
    meta_verify_token: str | None = None
    meta_app_secrets_parameter: str | None = None
    meta_verify_token_parameter: str | None = None
    page_tokens_secret_name: str | None = None
    page_tokens: dict[str, str] = Field(default_factory=dict)
    graph_api_base_url: str = "https://graph.facebook.com"
    graph_api_version: str = "v25.0"
    graph_timeout_seconds: float = 5.0
    # Our own Meta app id: echoes carrying it are our sends; others are humans in Meta's inbox.
    meta_app_id: str | None = None
    max_webhook_body_bytes: int = 4 * 1024 * 1024
    webhook_silence_alert_minutes: int = 60


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def _page_tokens(value: str | None) -> dict[str, str]:
    # LOCAL_PAGE_TOKENS="123=token-a,456=token-b"
    tokens: dict[str, str] = {}
    for pair in _split(value):
        account, _, token = pair.partition("=")
        if account and token:
            tokens[account] = token
    return tokens


def settings_from_environ(env: dict[str, str] | None = None) -> Settings:
    env = dict(os.environ if env is None else env)
    return Settings(
        table_name=env.get("TABLE_NAME", "inbox"),
        event_bus_name=env.get("EVENT_BUS_NAME", "inbox"),
        inbound_queue_url=env.get("INBOUND_QUEUE_URL") or None,
        work_queue_url=env.get("WORK_QUEUE_URL") or None,
        unconfirmed_after_seconds=int(env.get("UNCONFIRMED_AFTER_SECONDS") or 1800),
        media_bucket=env.get("MEDIA_BUCKET") or None,
        region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
        meta_app_secrets=_split(env.get("META_APP_SECRET")),
        meta_verify_token=env.get("META_VERIFY_TOKEN") or None,
        meta_app_secrets_parameter=env.get("META_APP_SECRETS_PARAMETER") or None,
        meta_verify_token_parameter=env.get("META_VERIFY_TOKEN_PARAMETER") or None,
        page_tokens_secret_name=env.get("PAGE_TOKENS_SECRET_NAME") or None,
        page_tokens=_page_tokens(env.get("LOCAL_PAGE_TOKENS")),
        graph_api_base_url=env.get("GRAPH_API_BASE_URL", "https://graph.facebook.com"),
        graph_api_version=env.get("GRAPH_API_VERSION", "v25.0"),
        meta_app_id=env.get("META_APP_ID") or None,
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return settings_from_environ()
