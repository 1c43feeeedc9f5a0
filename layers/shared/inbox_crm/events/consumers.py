"""The consumer's side of the contracts: an EventBridge event parsed (Powertools Parser) into the
model of its detail-type. Functions fed by one detail-type use ``event_parser`` with that model and
the EventBridge envelope directly; this is for functions whose rule matches several."""

from __future__ import annotations

from typing import Any, cast

from aws_lambda_powertools.utilities.parser import parse
from aws_lambda_powertools.utilities.parser.models import EventBridgeModel

from inbox_crm.events.contracts import EventDetail, check


def parse_domain_event(event: dict[str, Any]) -> EventDetail:
    """The detail as the contract of its detail-type reads it; ContractViolation if it does not match."""
    envelope = parse(event=event, model=EventBridgeModel)
    return check(envelope.detail_type, cast(dict[str, Any], envelope.detail))  # a dict: no model given


def as_sent(detail: EventDetail) -> dict[str, Any]:
    """The detail as a plain dict, exactly the fields the publisher sent (for code that reads dicts)."""
    return detail.model_dump(mode="json", exclude_unset=True)
