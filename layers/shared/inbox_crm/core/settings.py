"""The one typed settings object. Only this module reads the process environment.

Fail fast: every handler calls ``load_settings`` when its module is imported (Lambda's init), naming
the variables its code needs beyond the ones every function has; a missing one raises
``MissingSettings`` naming it, so a misconfigured function fails its cold start, not its first use.
No production default stands in for a resource name. (A plain dataclass, not pydantic: this module
is on every cold start, pydantic is not needed for a dozen strings.)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

# Every function has these (template.yaml Globals; AWS_REGION is set by Lambda itself).
ALWAYS_REQUIRED = ("TABLE_NAME", "EVENT_BUS_NAME", "AWS_REGION")


class MissingSettings(RuntimeError):
    """A required environment variable is missing or empty."""

    def __init__(self, names: list[str]) -> None:
        self.names = names
        super().__init__(
            f"Required environment variable(s) not set: {', '.join(names)} "
            "(template.yaml sets them for every function that needs them)"
        )


@dataclass(frozen=True)
class Settings:
    table_name: str
    event_bus_name: str
    region: str
    inbound_queue_url: str | None = None
    # An unknown send outcome that no echo or status confirms within this time ends failed.
    unconfirmed_after_seconds: int = 1800
    work_queue_url: str | None = None  # due sends, flow waits and broadcast pages (dispatch/work.py)
    media_bucket: str | None = None
    # In AWS: SSM / Secrets Manager names (locally the stack hands secrets in: core/secrets.py).
    meta_app_secrets_parameter: str | None = None
    meta_verify_token_parameter: str | None = None
    page_tokens_secret_name: str | None = None
    graph_api_base_url: str = "https://graph.facebook.com"
    graph_api_version: str = "v25.0"
    graph_timeout_seconds: float = 5.0
    # Our own Meta app id: echoes carrying it are our sends; others are humans in Meta's inbox.
    meta_app_id: str | None = None
    max_webhook_body_bytes: int = 4 * 1024 * 1024
    webhook_silence_alert_minutes: int = 60


def _missing(env: Mapping[str, str], names: tuple[str, ...]) -> list[str]:
    present = dict(env)
    if present.get("AWS_DEFAULT_REGION") and not present.get("AWS_REGION"):
        present["AWS_REGION"] = present["AWS_DEFAULT_REGION"]  # boto3's own fallback, used off Lambda
    return [name for name in dict.fromkeys(names) if not (present.get(name) or "").strip()]


def settings_from_environ(env: Mapping[str, str] | None = None, require: tuple[str, ...] = ()) -> Settings:
    """Settings from the environment; MissingSettings names every required variable that is not set."""
    env = os.environ if env is None else env
    missing = _missing(env, (*ALWAYS_REQUIRED, *require))
    if missing:
        raise MissingSettings(missing)
    return Settings(
        table_name=env["TABLE_NAME"],
        event_bus_name=env["EVENT_BUS_NAME"],
        region=env.get("AWS_REGION") or env["AWS_DEFAULT_REGION"],
        inbound_queue_url=env.get("INBOUND_QUEUE_URL") or None,
        work_queue_url=env.get("WORK_QUEUE_URL") or None,
        unconfirmed_after_seconds=int(env.get("UNCONFIRMED_AFTER_SECONDS") or 1800),
        media_bucket=env.get("MEDIA_BUCKET") or None,
        meta_app_secrets_parameter=env.get("META_APP_SECRETS_PARAMETER") or None,
        meta_verify_token_parameter=env.get("META_VERIFY_TOKEN_PARAMETER") or None,
        page_tokens_secret_name=env.get("PAGE_TOKENS_SECRET_NAME") or None,
        graph_api_base_url=env.get("GRAPH_API_BASE_URL") or "https://graph.facebook.com",
        graph_api_version=env.get("GRAPH_API_VERSION") or "v25.0",
        meta_app_id=env.get("META_APP_ID") or None,
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return settings_from_environ()


def load_settings(*require: str) -> Settings:
    """A handler's cold-start check: the settings, after checking that ``require`` (and the variables
    every function has) are set. Raises MissingSettings naming what is missing."""
    missing = _missing(os.environ, (*ALWAYS_REQUIRED, *require))
    if missing:
        raise MissingSettings(missing)
    return get_settings()
