"""A publisher whose detail drifts from its contract fails in its own request, and the change that
would have announced it is not committed (the event is staged in the change's transaction)."""

from __future__ import annotations

from typing import Any

import pytest

from inbox_crm.events.outbox import DomainEvent
from inbox_crm.store.models import Contact, OutboxEvent
from support.api import ApiClient


def test_a_drifted_detail_fails_the_publisher_and_nothing_is_written(
    api: ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    sent = DomainEvent.detail

    def drifted(event: DomainEvent) -> dict[str, Any]:
        detail = sent(event)
        detail["contactId"] = detail.pop("contact_id")  # a rename the consumers would not know
        return detail

    monkeypatch.setattr(DomainEvent, "detail", drifted)
    reply = api.post("/v1/contacts", {"first_name": "Ana", "emails": ["ana@ejemplo.com"]}, as_="alpha_agent")
    assert reply.status == 500
    assert [item for item in Contact.scan() if isinstance(item, Contact)] == []
    assert [item for item in OutboxEvent.scan() if isinstance(item, OutboxEvent)] == []

    monkeypatch.setattr(DomainEvent, "detail", sent)
    assert (
        api.post(
            "/v1/contacts", {"first_name": "Ana", "emails": ["ana@ejemplo.com"]}, as_="alpha_agent"
        ).status
        == 201
    )
    [event] = [item for item in OutboxEvent.scan() if isinstance(item, OutboxEvent)]
    assert event.detail_type == "ContactCreated"
