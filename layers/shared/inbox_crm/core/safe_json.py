"""JSON from outside (API bodies, webhook deliveries), read defensively.

``json.loads`` alone turns hostile input into crashes: bytes that are not UTF-8 raise
UnicodeDecodeError, ten thousand nested brackets raise RecursionError, and a value nested deeper than
DynamoDB's 32 levels fails only later, at the write. ``loads`` turns each of these into one
``UnreadableJson`` with a machine-readable code, so callers answer (or record) it instead of a 500.
"""

from __future__ import annotations

import json
import re
from typing import Any

# Meta's deliveries nest ~8 levels and our API bodies fewer; DynamoDB maps nest at most 32.
MAX_DEPTH = 32
# json.loads pairs escaped surrogates, so any surrogate code point left in a str is a lone one.
LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class UnreadableJson(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def loads(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON value of ``raw``; UnreadableJson ``invalid_utf8``, ``malformed_json`` or ``too_deep``."""
    if isinstance(raw, bytes):
        try:
            raw = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise UnreadableJson("invalid_utf8", "The body is not valid UTF-8") from None
    try:
        value = json.loads(raw)
    except RecursionError:
        raise UnreadableJson("too_deep", f"The body nests deeper than {max_depth} levels") from None
    except ValueError:
        raise UnreadableJson("malformed_json", "The body is not valid JSON") from None
    if depth(value) > max_depth:
        raise UnreadableJson("too_deep", f"The body nests deeper than {max_depth} levels")
    return value


def depth(value: Any) -> int:
    """How many containers deep a JSON value nests (a scalar is 0); iterative, so never recursion-bound."""
    deepest = 0
    stack = [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        deepest = max(deepest, level)
        stack.extend((child, level + 1) for child in children)
    return deepest


def lone_surrogate_at(value: Any) -> list[str | int] | None:
    """The path to the first string (or key) holding a lone surrogate, None when there is none.
    Such a string cannot be encoded as UTF-8, so it can be neither stored nor sent."""
    stack: list[tuple[Any, list[str | int]]] = [(value, [])]
    while stack:
        item, path = stack.pop()
        if isinstance(item, str):
            if LONE_SURROGATE.search(item):
                return path
        elif isinstance(item, dict):
            for key, child in item.items():
                if LONE_SURROGATE.search(key):
                    return [*path, key]
                stack.append((child, [*path, key]))
        elif isinstance(item, list):
            stack.extend((child, [*path, index]) for index, child in enumerate(item))
    return None
