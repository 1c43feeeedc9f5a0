"""Meta secrets: from the environment locally, from SSM / Secrets Manager in AWS (cached 5 minutes)."""

from __future__ import annotations

import json

from inbox_crm.settings import get_settings

_MAX_AGE_SECONDS = 300


def meta_app_secrets() -> tuple[str, ...]:
    settings = get_settings()
    if settings.meta_app_secrets:
        return settings.meta_app_secrets
    if not settings.meta_app_secrets_parameter:
        return ()
    from aws_lambda_powertools.utilities import parameters

    value = parameters.get_parameter(
        settings.meta_app_secrets_parameter, decrypt=True, max_age=_MAX_AGE_SECONDS
    )
    return tuple(part.strip() for part in str(value).split(",") if part.strip())


def meta_verify_token() -> str | None:
    settings = get_settings()
    if settings.meta_verify_token:
        return settings.meta_verify_token
    if not settings.meta_verify_token_parameter:
        return None
    from aws_lambda_powertools.utilities import parameters

    return str(
        parameters.get_parameter(settings.meta_verify_token_parameter, decrypt=True, max_age=_MAX_AGE_SECONDS)
    )


def page_token(account_id: str) -> str | None:
    """The access token used for Graph API calls on behalf of a Page / IG account / WhatsApp number."""
    settings = get_settings()
    if account_id in settings.page_tokens:
        return settings.page_tokens[account_id]
    if not settings.page_tokens_secret_name:
        return None
    from aws_lambda_powertools.utilities import parameters

    tokens = parameters.get_secret(settings.page_tokens_secret_name, max_age=_MAX_AGE_SECONDS)
    parsed = json.loads(tokens) if isinstance(tokens, str) else tokens
    token = parsed.get(account_id) if isinstance(parsed, dict) else None
    return str(token) if token else None
