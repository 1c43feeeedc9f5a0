"""Meta secrets: from SSM / Secrets Manager in AWS (cached 5 minutes).

Off AWS, the local stack (and the tests) hand secrets in through ``use_local_secrets``: a source
asked first, whose answer wins when it has one. Production code never sets it, so no local-only
variable is read here (local/inbox_local/local_secrets.py reads them).
"""

from __future__ import annotations

import json
from typing import Protocol

from inbox_crm.core.settings import get_settings

_MAX_AGE_SECONDS = 300


class LocalSecrets(Protocol):
    """Secrets known without AWS: None (or empty) means "ask AWS"."""

    def meta_app_secrets(self) -> tuple[str, ...]: ...

    def meta_verify_token(self) -> str | None: ...

    def page_token(self, account_id: str) -> str | None: ...


_local: LocalSecrets | None = None


def use_local_secrets(source: LocalSecrets | None) -> None:
    """Registers (None: removes) the local stack's secrets. Never called in AWS."""
    global _local  # noqa: PLW0603 - one registration per process, by the local stack or the tests
    _local = source


def meta_app_secrets() -> tuple[str, ...]:
    local = _local.meta_app_secrets() if _local else ()
    if local:
        return local
    settings = get_settings()
    if not settings.meta_app_secrets_parameter:
        return ()
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_parameter(
        settings.meta_app_secrets_parameter, decrypt=True, max_age=_MAX_AGE_SECONDS
    )
    return tuple(part.strip() for part in str(value).split(",") if part.strip())


def meta_verify_token() -> str | None:
    local = _local.meta_verify_token() if _local else None
    if local:
        return local
    settings = get_settings()
    if not settings.meta_verify_token_parameter:
        return None
    from aws_lambda_powertools.utilities import parameters

    return str(
        parameters.get_parameter(settings.meta_verify_token_parameter, decrypt=True, max_age=_MAX_AGE_SECONDS)
    )


def page_token(account_id: str) -> str | None:
    """The access token used for Graph API calls on behalf of a Page / IG account / WhatsApp number:
    the account's own secret (written when it was connected), else the shared JSON map."""
    local = _local.page_token(account_id) if _local else None
    if local:
        return local
    settings = get_settings()
    if not settings.page_tokens_secret_name:
        return None
    from aws_lambda_powertools.utilities import parameters

    try:
        own = parameters.get_secret(
            account_token_secret(settings.page_tokens_secret_name, account_id), max_age=_MAX_AGE_SECONDS
        )
    except parameters.exceptions.GetParameterError:
        own = None
    if own is not None:  # the account's own secret decides, even when its token was forgotten
        return str(own).strip() or None
    try:
        tokens = parameters.get_secret(settings.page_tokens_secret_name, max_age=_MAX_AGE_SECONDS)
    except parameters.exceptions.GetParameterError:
        return None  # no shared map: every token is the account's own
    parsed = json.loads(tokens) if isinstance(tokens, str) else tokens
    token = parsed.get(account_id) if isinstance(parsed, dict) else None
    return str(token) if token else None


def account_token_secret(base_name: str, account_id: str) -> str:
    """One secret per connected account, under the page-tokens secret's name."""
    return f"{base_name}/{account_id}"


def forget_page_token(account_id: str) -> None:
    """A removed account's token is not kept (nothing to do without a token store)."""
    if get_settings().page_tokens_secret_name:
        store_page_token(account_id, "")


def store_page_token(account_id: str, token: str) -> None:
    """Keep the token of a newly connected account (replacing an earlier one; "" forgets it).
    Never logged, never returned by the API."""
    name = get_settings().page_tokens_secret_name
    if not name:
        raise RuntimeError("No token store: PAGE_TOKENS_SECRET_NAME is not set")
    from aws_lambda_powertools.utilities import parameters

    from inbox_crm.core.aws import client

    secrets = client("secretsmanager")
    secret_id = account_token_secret(name, account_id)
    # A blank token cannot be stored: a forgotten one is a single space, read back as none.
    value = token or " "
    try:
        secrets.put_secret_value(SecretId=secret_id, SecretString=value)
    except secrets.exceptions.ResourceNotFoundException:
        try:
            secrets.create_secret(Name=secret_id, SecretString=value)
        except secrets.exceptions.ResourceExistsException:  # created meanwhile by a concurrent connect
            secrets.put_secret_value(SecretId=secret_id, SecretString=value)
    parameters.clear_caches()  # this container reads the new token at once
