"""InboundUnit builders for ingestion tests (the parser has its own tests against Meta's shapes)."""

from __future__ import annotations

from typing import Any

from inbox_crm.meta.units import InboundUnit, UnitKind

PAGE = "100200300400"
IG_ACCOUNT = "17841400000000777"
WA_NUMBER = "100000000000555"
BASE_MS = 1_790_000_000_000  # 2026-09-21


def unit(kind: UnitKind = UnitKind.MESSAGE, **fields: Any) -> InboundUnit:
    values: dict[str, Any] = {
        "platform": "messenger",
        "account_id": PAGE,
        "customer_id": "7000000000000001",
        "timestamp_ms": BASE_MS,
    }
    values.update(fields)
    values.setdefault("platform_message_id", f"m_{values['customer_id']}_{values['timestamp_ms']}")
    values.setdefault("dedupe_key", f"{kind.value}:{values['account_id']}:{values['platform_message_id']}")
    return InboundUnit(kind=kind, **values)
