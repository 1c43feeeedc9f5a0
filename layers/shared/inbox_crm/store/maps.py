"""Values for raw map attributes."""

from __future__ import annotations

from typing import Any


def compact(value: Any) -> Any:
    """Drop empty values (None, "", [], {}) at every depth, so raw maps stay small and never hold NULLs."""
    if isinstance(value, dict):
        return {key: compact(item) for key, item in value.items() if item not in (None, "", [], {})}
    if isinstance(value, list):
        return [compact(item) for item in value]
    return value
