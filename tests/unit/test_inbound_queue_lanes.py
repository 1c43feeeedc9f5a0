"""Parallel enqueue keeps every conversation's units together and in order."""

from __future__ import annotations

from inbox_crm.ingest.queue import _lanes


def test_each_group_stays_whole_and_in_order_in_one_lane() -> None:
    messages = [{"MessageGroupId": f"g{n % 7}", "MessageBody": str(n)} for n in range(100)]
    lanes = _lanes(messages, 4)
    assert sum(len(lane) for lane in lanes) == 100
    seen_in: dict[str, int] = {}
    for index, lane in enumerate(lanes):
        for message in lane:
            assert seen_in.setdefault(message["MessageGroupId"], index) == index
        bodies_by_group: dict[str, list[int]] = {}
        for message in lane:
            bodies_by_group.setdefault(message["MessageGroupId"], []).append(int(message["MessageBody"]))
        assert all(bodies == sorted(bodies) for bodies in bodies_by_group.values())
    assert len(lanes) == 4


def test_one_group_is_one_lane() -> None:
    messages = [{"MessageGroupId": "only", "MessageBody": str(n)} for n in range(30)]
    assert _lanes(messages, 8) == [messages]
