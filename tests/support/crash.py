"""A crash between storing a send and delivering it (the function died, or DynamoDB throttled)."""

from __future__ import annotations

from typing import Any

import pytest

from inbox_crm.outbound import send
from inbox_crm.store.models import Message


def crash_once_before_delivery(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The next send stops after compose stored it (queued); later sends deliver. Returns the ids of
    the messages left behind."""
    real = send.deliver
    crashed: list[str] = []

    def deliver(message: Message, *args: Any, **kwargs: Any) -> Message:
        if not crashed:
            crashed.append(message.message_id)
            raise RuntimeError("the function died before delivering")
        return real(message, *args, **kwargs)

    monkeypatch.setattr(send, "deliver", deliver)
    return crashed
