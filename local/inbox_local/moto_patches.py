"""Make moto's DynamoDB apply each request atomically, as DynamoDB does.

moto's TransactWriteItems deep-copies the tables and, when a condition fails, puts the copy back,
erasing whatever other threads wrote meanwhile. Concurrent tests and the threaded local stack would
then lose writes that DynamoDB never loses, so every backend operation takes one lock.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

_LOCK = threading.RLock()
_OPERATIONS = (
    "put_item",
    "get_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "batch_get_item",
    "transact_write_items",
    "transact_get_items",
)


def make_dynamodb_atomic() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    for name in _OPERATIONS:
        original = getattr(DynamoDBBackend, name, None)
        if original is None or getattr(original, "_atomic", False):
            continue

        def locked(*args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _LOCK:
                return __original(*args, **kwargs)

        functools.update_wrapper(locked, original)
        locked._atomic = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, locked)
