"""Profile enrichment, after the message is stored: names, username and picture from the Graph API.

Failures never touch the message: the identity records why its profile is missing. Instagram 230
(no consent yet) and Messenger 2018218 (no profile for phone-created accounts) are expected answers.
"""

from __future__ import annotations

from typing import Any

from inbox_crm.core.observability import logger, tracer
from inbox_crm.core.timeutil import utcnow
from inbox_crm.meta.graph import GraphError
from inbox_crm.ports import Graph, ports
from inbox_crm.store.models import Conversation, Identity, IdentityConversation

# Meta answers these when a profile simply is not available to us: record, do not retry.
UNAVAILABLE = frozenset({(230, None), (100, 2018218), (None, 2018218), (100, 2018247), (10, 2018218)})


def _unavailable(error: GraphError) -> bool:
    return (error.code, error.subcode) in UNAVAILABLE or error.subcode == 2018218 or error.code == 230


@tracer.capture_method(capture_response=False)
def enrich_identity(workspace_id: str, identity_id: str, client: Graph | None = None) -> str:
    """Fetch and store the sender's profile. Returns the identity's profile_status."""
    try:
        identity = Identity.get(*Identity.key(workspace_id, identity_id), consistent_read=True)
    except Identity.DoesNotExist:
        return "missing"
    if identity.platform not in ("messenger", "instagram"):
        return "not_applicable"  # WhatsApp has no profile API: the webhook's profile name is all there is
    if identity.profile_status in ("fetched", "unavailable"):
        return identity.profile_status
    client = client or ports().graph()
    token = ports().tokens.page_token(identity.account_id)
    try:
        profile = client.get_profile(identity.platform, identity.external_id, token)
    except GraphError as error:
        status = "unavailable" if _unavailable(error) else "failed"
        identity.update(actions=[Identity.profile_status.set(status)])
        logger.info(
            "profile not fetched", extra={"status": status, "code": error.code, "subcode": error.subcode}
        )
        if status == "failed" and (error.retryable or error.is_auth):
            raise  # the event's retry policy tries again later; the message is long stored
        return status
    _apply_profile(identity, profile)
    if identity.contact_id:
        from inbox_crm.contacts.linking import refresh_identity

        # Linked before the profile arrived: the contact's name and Instagram username catch up.
        refresh_identity(workspace_id, identity_id)
    return "fetched"


def _apply_profile(identity: Identity, profile: dict[str, Any]) -> None:
    first = profile.get("first_name") or None
    last = profile.get("last_name") or None
    username = profile.get("username") or None
    name = profile.get("name") or " ".join(part for part in (first, last) if part) or None
    display = name or (f"@{username}" if username else None) or identity.display_name
    actions: list[Any] = [Identity.profile_status.set("fetched"), Identity.updated_at_profile.set(utcnow())]
    for attribute, value in (
        (Identity.first_name, first),
        (Identity.last_name, last),
        (Identity.username, username),
        (Identity.profile_pic_url, profile.get("profile_pic") or None),
        (Identity.display_name, display),
    ):
        if value is not None:
            actions.append(attribute.set(value))
    identity.update(actions=actions)
    handle = f"@{username}" if username else None
    for link in IdentityConversation.query(identity.pk, IdentityConversation.sk.startswith("CONV#")):
        conversation = Conversation(*Conversation.key(identity.workspace_id, link.conversation_id))
        updates: list[Any] = []
        if display:
            updates.append(Conversation.display_name.set(display))
        if handle:
            updates.append(Conversation.handle.set(handle))
        if updates:
            conversation.update(actions=updates, condition=Conversation.pk.exists())
