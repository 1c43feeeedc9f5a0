"""The secrets AWS keeps in SSM / Secrets Manager, from environment variables, for the local stack and
the tests (registered with ``inbox_crm.core.secrets.use_local_secrets``; never in AWS).

META_APP_SECRET     the Meta app secrets, comma-separated (rotation: every one is tried)
META_VERIFY_TOKEN   the webhook subscription's verify token
LOCAL_PAGE_TOKENS   Graph access tokens, "account=token,…" (accounts missing here: the token store)

Read on every call, so a test that changes a variable sees it at once.
"""

from __future__ import annotations

import os

from inbox_crm.core.secrets import use_local_secrets


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in (value or "").split(",") if part.strip())


def page_tokens(value: str | None) -> dict[str, str]:
    tokens: dict[str, str] = {}
    for pair in _split(value):
        account, _, token = pair.partition("=")
        if account and token:
            tokens[account] = token
    return tokens


class EnvironmentSecrets:
    def meta_app_secrets(self) -> tuple[str, ...]:
        return _split(os.environ.get("META_APP_SECRET"))

    def meta_verify_token(self) -> str | None:
        return os.environ.get("META_VERIFY_TOKEN") or None

    def page_token(self, account_id: str) -> str | None:
        return page_tokens(os.environ.get("LOCAL_PAGE_TOKENS")).get(account_id)


def install() -> None:
    """Secrets from this process's environment, for every handler it runs."""
    use_local_secrets(EnvironmentSecrets())
