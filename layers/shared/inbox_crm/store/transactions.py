"""Transactions and condition failures, the one way the store reports 'someone got there first'."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pynamodb.exceptions import PutError, TransactWriteError
from pynamodb.models import Model
from pynamodb.transactions import TransactWrite

from inbox_crm.store.models import InboxItem


class TransactionConflict(Exception):
    """A condition in the transaction failed. ``failed`` holds the positions of the failing writes."""

    def __init__(self, failed: list[int]) -> None:
        super().__init__(f"transaction conditions failed at {failed}")
        self.failed = failed


def cancellation_positions(error: TransactWriteError) -> list[int]:
    reasons = error.cancellation_reasons or []
    return [
        index for index, reason in enumerate(reasons) if reason and reason.code == "ConditionalCheckFailed"
    ]


@contextmanager
def transaction() -> Iterator[TransactWrite]:
    """A write transaction; a failed condition raises TransactionConflict naming the failing writes."""
    # The models' own connection: its botocore client is created once per container, not per call.
    connection = InboxItem._get_connection().connection
    try:
        with TransactWrite(connection=connection) as tx:
            yield tx
    except TransactWriteError as error:
        failed = cancellation_positions(error)
        if failed:
            raise TransactionConflict(failed) from error
        raise


def condition_failed(error: Exception) -> bool:
    """True when a single-item write failed only because its condition did not hold."""
    return getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException"


def save_if_absent(item: Model) -> bool:
    """Write the item unless one with its key exists; False when it already did (first writer wins)."""
    try:
        item.save(condition=type(item)._hash_key_attribute().does_not_exist())
    except PutError as error:
        if not condition_failed(error):
            raise
        return False
    return True
