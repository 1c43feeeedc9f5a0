"""Building blocks for each handler module's ``AWS_NEEDS``: the IAM actions its code performs, each
mapped to the template.yaml logical ids (resources or parameters) it performs them on.

tests/unit/test_iam.py checks that template.yaml grants every declared action on those resources;
while tests run a handler, every AWS call it makes must be declared (tests/support/aws_needs.py and
the local stack's invoker). A function that calls something new declares it here or in its handler.
"""

from __future__ import annotations

Needs = dict[str, tuple[str, ...]]

TABLE = ("InboxTable",)
BUS = ("InboxBus",)
MEDIA = ("MediaBucket",)

TABLE_READ: Needs = {f"dynamodb:{action}": TABLE for action in ("GetItem", "BatchGetItem", "Query")}
TABLE_WRITE: Needs = {
    f"dynamodb:{action}": TABLE
    for action in ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "ConditionCheckItem")
}
TABLE_READ_WRITE: Needs = {**TABLE_READ, **TABLE_WRITE}
PUBLISH_EVENTS: Needs = {"events:PutEvents": BUS}
# Graph API calls on behalf of a Page / IG account / WhatsApp number read its token (core/secrets.py).
# (The shared JSON map, and each connected account's own secret "<name>/<account id>".)
PAGE_TOKENS: Needs = {"secretsmanager:GetSecretValue": ("PageTokensSecretName", "PageTokensSecretName/*")}
# Connecting an account keeps its token in its own secret (secrets.store_page_token).
STORE_PAGE_TOKENS: Needs = {
    f"secretsmanager:{action}": ("PageTokensSecretName/*",) for action in ("CreateSecret", "PutSecretValue")
}
META_APP_SECRET: Needs = {"ssm:GetParameter": ("MetaAppSecretsParameter",)}
META_APP_SECRETS: Needs = {"ssm:GetParameter": ("MetaAppSecretsParameter", "MetaVerifyTokenParameter")}
ENQUEUE_INBOUND: Needs = {"sqs:SendMessage": ("InboundQueue",)}
# Due sends, flow waits and broadcast pages (dispatch/work.py).
ENQUEUE_WORK: Needs = {"sqs:SendMessage": ("WorkQueue",)}
# Presigned URLs are signed with the function's own credentials: it needs the action they grant.
MEDIA_READ: Needs = {"s3:GetObject": MEDIA}
MEDIA_WRITE: Needs = {"s3:PutObject": MEDIA}


def needs(*parts: Needs) -> Needs:
    """Several building blocks as one declaration (targets of a repeated action are merged)."""
    merged: dict[str, tuple[str, ...]] = {}
    for part in parts:
        for action, targets in part.items():
            merged[action] = tuple(dict.fromkeys((*merged.get(action, ()), *targets)))
    return merged
