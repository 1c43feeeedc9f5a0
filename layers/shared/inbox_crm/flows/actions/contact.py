"""Crear/asociar contacto (action ``create_contact``, FlowActionContactFunction)."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

from inbox_crm.contacts import linking, lookup, tagging
from inbox_crm.contacts.reads import oldest_first
from inbox_crm.contacts.tags import create_tag, tag_id_for
from inbox_crm.core.errors import Conflict
from inbox_crm.flows.steps import PermanentStepError, StepCall
from inbox_crm.identity.enrichment import enrich_identity

SOURCE_TAGS = {"messenger": "Facebook Messenger", "instagram": "Instagram Direct", "whatsapp": "WhatsApp"}


def perform(call: StepCall) -> dict[str, Any]:
    """Crear/asociar contacto, the seeds' semantics: look the sender up by Facebook ID (the PSID on
    this Page), Instagram username or WhatsApp phone; found -> link the conversation and its history
    (missing names filled from Meta); not found -> create with Meta's first/last name and the identity."""
    conversation = call.conversation()
    workspace_id = call.run.workspace_id
    identity = call.context.identity
    if identity is None:
        raise PermanentStepError("the conversation's sender is unknown")
    if identity.platform in ("messenger", "instagram") and identity.profile_status is None:
        # Meta's names and the Instagram username: fetched now if enrichment has not run yet.
        enrich_identity(workspace_id, identity.identity_id)
        call.context.forget()
        identity = call.context.identity
        assert identity is not None
    actor = call.actor()
    outcome = "already_linked"
    contact_id = identity.contact_id
    looked_up_by: str | None = None
    if contact_id is None:
        candidates: list[str] = []
        if identity.platform == "messenger":
            looked_up_by = "facebook_id"
            candidates = lookup.contacts_by_facebook_id(workspace_id, identity.external_id)
        elif identity.platform == "instagram" and identity.username:
            looked_up_by = "instagram_username"
            candidates = lookup.contacts_by_instagram_username(workspace_id, identity.username)
        elif identity.platform == "whatsapp" and identity.phone:
            looked_up_by = "whatsapp_phone"
            candidates = lookup.contacts_by_phone(workspace_id, identity.phone)
        found = next((c for c in oldest_first(workspace_id, candidates)), None)
        try:
            if found is not None:
                linked = linking.link_conversation(
                    workspace_id, conversation.conversation_id, actor, contact_id=found.contact_id
                )
                outcome = "linked"
            else:
                linked = linking.link_conversation(
                    workspace_id, conversation.conversation_id, actor, new_contact={}
                )
                outcome = "created" if linked.created else "linked"
            contact_id = linked.contact.contact_id
        except Conflict:
            # linked meanwhile (a concurrent delivery, an agent, WhatsApp auto-link): that contact it is
            call.context.forget()
            current = call.context.identity
            if current is None or current.contact_id is None:
                raise
            contact_id = current.contact_id
    else:
        # Already linked: the conversation and its history show it, and missing names are filled.
        linking.link_conversation(workspace_id, conversation.conversation_id, actor, contact_id=contact_id)
        linking.refresh_identity(workspace_id, identity.identity_id)
    result: dict[str, Any] = {
        "contact_id": contact_id,
        "outcome": outcome,
        "looked_up_by": looked_up_by,
        "identity_id": identity.identity_id,
        "channel": identity.platform,
    }
    if call.step.get("add_source_tag"):
        tag_name = SOURCE_TAGS[identity.platform]
        tag_id = ensure_tag(workspace_id, tag_name, call.run.flow_id)
        tagging.add_tag(workspace_id, contact_id, tag_id, actor)
        result["source_tag"] = tag_name
    return result


def ensure_tag(workspace_id: str, name: str, created_by: str) -> str:
    tag_id = tag_id_for(workspace_id, name)
    with suppress(Conflict):  # it exists (one tag per name)
        create_tag(workspace_id, name, None, created_by)
    return tag_id
