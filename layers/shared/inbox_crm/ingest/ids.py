"""Ids of the records a unit touches, derived from Meta's ids: nothing needs looking up first."""

from __future__ import annotations

from inbox_crm.core.ids import stable_id


def identity_id_for(platform: str, account_id: str, customer_id: str) -> str:
    return stable_id("idt", platform, account_id, customer_id)


def direct_conversation_id(identity_id: str) -> str:
    return stable_id("cnv", identity_id)


def comment_conversation_id(identity_id: str, post_id: str) -> str:
    return stable_id("cnv", identity_id, "post", post_id)
