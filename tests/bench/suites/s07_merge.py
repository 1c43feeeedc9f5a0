"""Issue 7: merge suggestions and merges at 1k, 10k and 50k (or 100k) contacts in one workspace.
What must hold: DynamoDB requests and items read/written per operation stay flat as the workspace
grows — suggestions are found through the lookup items (one Query per value), never a scan, and a
merge is one transaction plus the moved conversations.

The workspace is seeded like s04 (exactly the items the domain writes per contact); the measured
contacts are created through the domain so each carries a real shared phone and email.
Levels: BENCH_CONTACT_LEVELS=1000,10000,100000 (default 1000,10000,50000).
"""

from __future__ import annotations

import itertools
import sys
import time
from typing import Any

from bench.meter import measure
from bench.suites.s04_contacts import (
    OWNER,
    WORKSPACE,
    _levels,
    _ratio_rows,
    moto_partition_queries,
    populate,
    seed_bench_workspace,
)

RUNS = 5
_serial = itertools.count(1)


def _pair(level: int) -> tuple[str, str]:
    """Two contacts sharing a phone (typed differently) and an email: one suggestion."""
    from inbox_crm.contacts.actors import Actor
    from inbox_crm.contacts.editing import create_contact

    actor = Actor(OWNER)
    n = next(_serial)
    phone = f"+52 33 {1000 + n:04d} {level % 10_000:04d}"
    email = f"dup{n}.{level}@bench.mx"
    first = create_contact(WORKSPACE, {"first_name": "Ana", "primary_phone": phone, "emails": [email]}, actor)
    second = create_contact(
        WORKSPACE,
        {"first_name": "Anita", "secondary_phones": [phone.replace(" ", "-")], "emails": [email]},
        actor,
    )
    return first.contact_id, second.contact_id


def operations(level: int) -> list[dict[str, Any]]:
    from inbox_crm.contacts.actors import Actor
    from inbox_crm.identity import merge, merge_undo, suggestions

    actor = Actor(OWNER)
    context = {"contacts": level}
    rows = []
    probe = _pair(level)
    rows.append(
        measure(
            "suggestions: refresh one contact (lookup)",
            lambda: suggestions.refresh_contact(WORKSPACE, probe[0]),
            RUNS,
            **context,
        )
    )
    rows.append(
        measure(
            "suggestions: list a contact's",
            lambda: suggestions.contact_suggestions(WORKSPACE, probe[0]),
            RUNS,
            **context,
        )
    )
    rows.append(
        measure(
            "suggestions: workspace page of 25",
            lambda: suggestions.list_suggestions(WORKSPACE, 25, None),
            RUNS,
            **context,
        )
    )
    pending = [_pair(level) for _ in range(RUNS)]
    merges: list[str] = []

    def merge_one() -> None:
        survivor, other = pending.pop()
        merges.append(merge.merge_contacts(WORKSPACE, survivor, other, actor).merge.merge_id)

    rows.append(measure("merge two contacts (with suggestion refresh)", merge_one, RUNS, **context))
    rows.append(
        measure(
            "undo a merge",
            lambda: merge_undo.undo_merge(WORKSPACE, merges.pop(), actor, may_undo_others=True),
            RUNS,
            **context,
        )
    )
    rows.append(
        measure("create a duplicate contact (with suggestion refresh)", lambda: _pair(level), RUNS, **context)
    )
    return rows


def run() -> list[dict[str, Any]]:

    levels = _levels()
    results: list[dict[str, Any]] = []
    with moto_partition_queries():
        vip = seed_bench_workspace()
        seeded = 0
        for level in levels:
            started = time.perf_counter()
            populate(seeded, level, vip)
            print(
                f"bench: s07 seeded up to {level} contacts in {time.perf_counter() - started:.1f}s",
                file=sys.stderr,
            )
            seeded = level
            results += operations(level)
    results += _ratio_rows(results, levels[0], levels[-1])
    return results
