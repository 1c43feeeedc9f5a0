"""Make moto behave like AWS under concurrency and at volume, for tests, bench and the local stack.

DynamoDB:
moto's TransactWriteItems deep-copies every table it touches before each transaction and, when a
condition fails, puts the copy back: that erases whatever other threads wrote meanwhile (DynamoDB
never loses such writes) and costs O(table size) per transaction (a 1000-message webhook batch took
minutes and gigabytes). Here every backend operation takes one lock, so each request is atomic as
in DynamoDB, and transactions check all conditions before writing anything and keep a backup of
only the items they touch.

moto's Query walks `Table.all_items()`, which sorts every item of the table, for every Query, even
one on the base table's partition key: a Query cost O(n log n) in the table size, so the local stack
slowed down as its table grew (the outbox alone adds several items per message). A base-table Query
now reads its partition only, and an index Query filters the unsorted items (moto sorts the matches
itself afterwards), as DynamoDB reads only the partition asked for.

moto's server finds the backend of every request by listing its own package folder on disk
(`list_of_moto_modules`: a listdir and ~200 isdir calls, under a lock): a fifth of the local stack's
busy time under load. The list never changes while the process runs, so it is read once.

SQS: every SendMessage reads the queue's attributes to see whether it deduplicates by content, and
moto computes all attributes, including the approximate counts that walk every message: a 1000-unit
webhook batch cost O(n²). The cheap attributes are answered directly; the rest on demand.
ReceiveMessage likewise computed all attributes for every message it returned, to read the retention
period: draining a 1000-item work queue in batches of 10 walked every message 1000 times. It reads
that one attribute now.
"""

from __future__ import annotations

import copy
import functools
import threading
from typing import Any, ClassVar

_LOCK = threading.RLock()


# Sees every DynamoDB backend operation inside the lock (the local stack's journal): called with the
# operation's name, the original method and its arguments, it returns the original's result.
class _Hooks:
    observer: Any = None


_OPERATIONS = (
    "put_item",
    "get_item",
    "update_item",
    "delete_item",
    "query",
    "scan",
    "batch_get_item",
    "batch_write_item",
    "transact_write_items",
    "transact_get_items",
)


def _key_of(table: Any, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return op["Key"]
    attributes = op["Item"]
    key = {table.hash_key_attr: attributes[table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = attributes[table.range_key_attr]
    return key


def _transact_write_items(backend: Any, transact_items: list[dict[str, Any]]) -> None:
    from moto.dynamodb.comparisons import get_filter_expression
    from moto.dynamodb.exceptions import (
        MultipleTransactionsException,
        TooManyTransactionsException,
        TransactionCanceledException,
        TransactWriteSingleOpException,
    )

    if len(transact_items) > 100:
        raise TooManyTransactionsException()
    targets: set[tuple[str, str]] = set()
    errors: list[tuple[Any, Any, Any]] = []
    plans: list[tuple[str, dict[str, Any], str, dict[str, Any], Any]] = []
    for entry in transact_items:
        if len(entry) > 1:
            raise TransactWriteSingleOpException
        op_type, op = next(iter(entry.items()))
        table_name = op["TableName"]
        table = backend.get_table(table_name)
        key = _key_of(table, op_type, op)
        target = (table_name, str(dict(sorted(key.items()))))
        if target in targets:
            raise MultipleTransactionsException()
        targets.add(target)
        current = backend.get_item(table_name, key)
        condition = op.get("ConditionExpression")
        if condition is not None:
            expression = get_filter_expression(
                condition, op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            )
            if not expression.expr(current):
                old = None
                if op.get("ReturnValuesOnConditionCheckFailure") == "ALL_OLD" and current:
                    old = current.to_json()["Attributes"]
                errors.append(("ConditionalCheckFailed", "The conditional request failed", old))
                continue
        errors.append((None, None, None))
        plans.append((op_type, op, table_name, key, current))
    if any(code is not None for code, _, _ in errors):
        raise TransactionCanceledException(errors)

    backups: list[tuple[str, dict[str, Any], Any]] = []
    try:
        for op_type, op, table_name, key, current in plans:
            if op_type == "ConditionCheck":
                continue
            backups.append((table_name, key, copy.deepcopy(current)))
            names, values = op.get("ExpressionAttributeNames"), op.get("ExpressionAttributeValues")
            if op_type == "Put":
                backend.put_item(table_name, op["Item"])
            elif op_type == "Delete":
                backend.delete_item(table_name, key)
            else:
                backend.update_item(
                    table_name,
                    key,
                    update_expression=op["UpdateExpression"],
                    expression_attribute_names=names,
                    expression_attribute_values=values,
                )
    except Exception:
        for table_name, key, previous in reversed(backups):
            if previous is None:
                if backend.get_item(table_name, key) is not None:
                    backend.delete_item(table_name, key)
            else:
                backend.put_item(table_name, previous.to_json()["Attributes"])
        raise


class _LazyQueueAttributes(dict[str, Any]):
    _CHEAP: ClassVar[dict[str, str]] = {
        "ContentBasedDeduplication": "content_based_deduplication",
        "FifoQueue": "fifo_queue",
    }

    def __init__(self, queue: Any, compute: Any) -> None:
        super().__init__()
        self._queue = queue
        self._compute = compute
        self._complete = False

    def _complete_now(self) -> None:
        if not self._complete:
            self.update(self._compute(self._queue))
            self._complete = True

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        if not self._complete and key in self._CHEAP:
            value = getattr(self._queue, self._CHEAP[key], None)
            return default if value is None else value
        self._complete_now()
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self._complete_now()
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._complete_now()
        return super().__contains__(key)

    def __iter__(self) -> Any:
        self._complete_now()
        return super().__iter__()

    def __len__(self) -> int:
        self._complete_now()
        return super().__len__()

    def keys(self) -> Any:  # type: ignore[override]
        self._complete_now()
        return super().keys()

    def items(self) -> Any:  # type: ignore[override]
        self._complete_now()
        return super().items()

    def values(self) -> Any:  # type: ignore[override]
        self._complete_now()
        return super().values()

    def copy(self) -> dict[str, Any]:
        self._complete_now()
        return dict(super().items())


def _make_sqs_sends_cheap() -> None:
    from moto.core.utils import unix_time
    from moto.sqs.models import Queue, SQSBackend

    if getattr(Queue, "_inbox_lazy_attributes", False):
        return
    compute = Queue.attributes.fget  # type: ignore[attr-defined]
    Queue.attributes = property(lambda queue: _LazyQueueAttributes(queue, compute))  # type: ignore[assignment]

    def retained(backend: Any, queue_name: str, message: Any) -> bool:
        retention = backend.get_queue(queue_name).message_retention_period
        return bool(int(retention) + message.sent_timestamp / 1000 > unix_time())

    SQSBackend.is_message_valid_based_on_retention_period = retained  # type: ignore[method-assign]
    Queue._inbox_lazy_attributes = True  # type: ignore[attr-defined]


def set_write_observer(observer: Any) -> None:
    _Hooks.observer = observer


def apply_moto_patches() -> None:
    _make_sqs_sends_cheap()
    _list_moto_modules_once()
    _make_dynamodb_queries_read_one_partition()
    _make_dynamodb_atomic()


def _list_moto_modules_once() -> None:
    from moto import backends

    if getattr(backends, "_inbox_modules_listed", False):
        return
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]
    backends._inbox_modules_listed = True  # type: ignore[attr-defined]


_QUERY_SCOPE = threading.local()


def _make_dynamodb_queries_read_one_partition() -> None:
    import inspect

    from moto.dynamodb.models.table import Table

    if getattr(Table, "_inbox_partition_queries", False):
        return
    original_query = Table.query
    original_all_items = Table.all_items
    signature = inspect.signature(original_query)

    def all_items(self: Any) -> Any:
        scope = getattr(_QUERY_SCOPE, "scope", None)
        if scope is None or scope[0] is not self:
            return original_all_items(self)
        _, hash_key, index_name = scope
        if index_name:
            # Every item is a candidate; the query matches the index keys and sorts the matches.
            if not self.range_key_attr:
                return list(self.items.values())
            return [item for partition in self.items.values() for item in partition.values()]
        partition = self.items.get(hash_key) if hash_key is not None else None
        if partition is None:
            return []
        return list(partition.values()) if self.range_key_attr else [partition]

    def query(self: Any, *args: Any, **kwargs: Any) -> Any:
        arguments = signature.bind(self, *args, **kwargs).arguments
        _QUERY_SCOPE.scope = (self, arguments.get("hash_key"), arguments.get("index_name"))
        try:
            return original_query(self, *args, **kwargs)
        finally:
            _QUERY_SCOPE.scope = None

    functools.update_wrapper(query, original_query)
    Table.query = query  # type: ignore[method-assign]
    Table.all_items = all_items  # type: ignore[method-assign]
    Table._inbox_partition_queries = True  # type: ignore[attr-defined]


def _make_dynamodb_atomic() -> None:
    from moto.dynamodb.models import DynamoDBBackend

    if getattr(DynamoDBBackend, "_inbox_atomic", False):
        return
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    for name in _OPERATIONS:
        original = getattr(DynamoDBBackend, name, None)
        if original is None:
            continue

        def locked(*args: Any, __original: Any = original, __name: str = name, **kwargs: Any) -> Any:
            with _LOCK:
                observer = _Hooks.observer
                if observer is None:
                    return __original(*args, **kwargs)
                return observer(__name, __original, args, kwargs)

        functools.update_wrapper(locked, original)
        setattr(DynamoDBBackend, name, locked)
    DynamoDBBackend._inbox_atomic = True  # type: ignore[attr-defined]
