"""A tap on the local EventBridge: every event moto accepted on a bus, in order, for
``GET /_local/events`` (what reached the bus, to compare with what was stored: ``make chaos``).

It wraps moto's ``put_events`` in process, so it sees exactly the accepted entries (an entry that
failed, or a call that never arrived, is not there), whoever sent them.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from typing import Any

MAX_EVENTS = 200_000


class BusTap:
    def __init__(self, max_events: int = MAX_EVENTS) -> None:
        self._lock = threading.Lock()
        self._events: deque[dict[str, Any]] = deque(maxlen=max_events)
        self._seq = 0

    def record(self, event: dict[str, Any], event_id: str) -> None:
        try:
            detail = json.loads(event.get("Detail") or "null")
        except ValueError:
            detail = event.get("Detail")
        with self._lock:
            self._seq += 1
            self._events.append(
                {
                    "seq": self._seq,
                    "id": event_id,
                    "at": time.time(),
                    "bus": event.get("EventBusName") or "default",
                    "source": event.get("Source"),
                    "detail_type": event.get("DetailType"),
                    "detail": detail,
                }
            )

    def events(
        self, detail_type: str | None = None, after: int = 0, limit: int = 10_000
    ) -> tuple[list[dict[str, Any]], int]:
        """Events after sequence number ``after`` (of one detail type), and the last number."""
        with self._lock:
            selected = [
                event
                for event in self._events
                if event["seq"] > after and (detail_type is None or event["detail_type"] == detail_type)
            ]
            return selected[:limit], self._seq

    def install(self) -> None:
        from moto.events.models import EventsBackend

        tap = self
        put_events = getattr(EventsBackend, "_inbox_original_put_events", EventsBackend.put_events)

        def tapped_put_events(backend: Any, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
            results = put_events(backend, events)
            for event, result in zip(events, results, strict=False):
                if result.get("EventId"):
                    tap.record(event, result["EventId"])
            return results

        EventsBackend._inbox_original_put_events = put_events  # type: ignore[attr-defined]
        EventsBackend.put_events = tapped_put_events  # type: ignore[method-assign]
