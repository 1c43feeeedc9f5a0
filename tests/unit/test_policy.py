"""The messaging policy, cell by cell: (channel, age of the customer's last message, sender, kind)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from inbox_crm.meta.policy import Kind, Route, Sender, decide, free_form_until

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
H, A = Sender.HUMAN, Sender.AUTOMATION

CELLS = [
    # channel, hours since the customer's last message (None: never wrote), sender, kind, route, reason
    ("messenger", 1, H, Kind.FREE_FORM, Route.STANDARD, None),
    ("messenger", 1, A, Kind.FREE_FORM, Route.STANDARD, None),
    ("messenger", 24, A, Kind.FREE_FORM, Route.STANDARD, None),
    ("messenger", 25, H, Kind.FREE_FORM, Route.HUMAN_AGENT, None),
    ("messenger", 25, A, Kind.FREE_FORM, Route.REFUSED, "window_closed_template_required"),
    ("messenger", 24 * 7, H, Kind.FREE_FORM, Route.HUMAN_AGENT, None),
    ("messenger", 24 * 7 + 1, H, Kind.FREE_FORM, Route.REFUSED, "human_agent_window_closed"),
    ("messenger", 24 * 8, A, Kind.FREE_FORM, Route.REFUSED, "window_closed_template_required"),
    ("messenger", None, H, Kind.FREE_FORM, Route.REFUSED, "no_customer_message"),
    ("messenger", 200, A, Kind.TEMPLATE, Route.TEMPLATE, None),
    ("messenger", None, A, Kind.TEMPLATE, Route.TEMPLATE, None),
    ("instagram", 1, H, Kind.FREE_FORM, Route.STANDARD, None),
    ("instagram", 30, H, Kind.FREE_FORM, Route.HUMAN_AGENT, None),
    ("instagram", 30, A, Kind.FREE_FORM, Route.REFUSED, "window_closed_template_required"),
    ("instagram", 24 * 7 + 1, H, Kind.FREE_FORM, Route.REFUSED, "human_agent_window_closed"),
    ("whatsapp", 1, H, Kind.FREE_FORM, Route.STANDARD, None),
    ("whatsapp", 1, A, Kind.FREE_FORM, Route.STANDARD, None),
    ("whatsapp", 25, H, Kind.FREE_FORM, Route.REFUSED, "window_closed_template_required"),
    ("whatsapp", 25, A, Kind.FREE_FORM, Route.REFUSED, "window_closed_template_required"),
    ("whatsapp", None, H, Kind.FREE_FORM, Route.REFUSED, "window_closed_template_required"),
    ("whatsapp", 25, H, Kind.TEMPLATE, Route.TEMPLATE, None),
    ("whatsapp", None, A, Kind.TEMPLATE, Route.TEMPLATE, None),
]


@pytest.mark.parametrize(("channel", "hours", "sender", "kind", "route", "reason"), CELLS)
def test_policy_cell(
    channel: str, hours: int | None, sender: Sender, kind: Kind, route: Route, reason: str | None
) -> None:
    last = None if hours is None else NOW - timedelta(hours=hours)
    decision = decide(channel, last, sender, kind, NOW)
    assert decision.route == route
    assert decision.reason_code == reason
    assert decision.allowed is (route != Route.REFUSED)
    if not decision.allowed:
        assert decision.reason


@pytest.mark.parametrize(
    ("channel", "days_old", "already", "route", "reason"),
    [
        ("messenger", 1, False, Route.PRIVATE_REPLY, None),
        ("instagram", 6.9, False, Route.PRIVATE_REPLY, None),
        ("messenger", 7.1, False, Route.REFUSED, "private_reply_expired"),
        ("messenger", 1, True, Route.REFUSED, "private_reply_already_sent"),
        ("whatsapp", 1, False, Route.REFUSED, "private_reply_unsupported"),
    ],
)
def test_private_reply_cells(
    channel: str, days_old: float, already: bool, route: Route, reason: str | None
) -> None:
    decision = decide(
        channel,
        None,
        Sender.HUMAN,
        Kind.PRIVATE_REPLY,
        NOW,
        comment_created_at=NOW - timedelta(days=days_old),
        private_reply_sent=already,
    )
    assert (decision.route, decision.reason_code) == (route, reason)


def test_private_reply_needs_a_comment() -> None:
    assert (
        decide("messenger", None, H, Kind.PRIVATE_REPLY, NOW).reason_code == "private_reply_without_comment"
    )


def test_free_form_until() -> None:
    last = NOW - timedelta(hours=2)
    assert free_form_until("messenger", last, H) == last + timedelta(days=7)
    assert free_form_until("messenger", last, A) == last + timedelta(hours=24)
    assert free_form_until("whatsapp", last, H) == last + timedelta(hours=24)
    assert free_form_until("whatsapp", None, H) is None
