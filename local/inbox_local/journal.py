"""A write-ahead journal of what the local moto acknowledged, so a killed stack loses none of it.

moto keeps DynamoDB and SQS in memory. Every write it applies is appended here before its response
leaves the server (and fsynced, one fsync shared by the requests that wrote meanwhile):

* DynamoDB: the item's state *after* the write (``{"d": table, "k": key, "i": item or null}``),
  taken inside moto's lock, in the order the writes happened. Replaying states is idempotent, so a
  snapshot scanned while writes go on, plus every record since the scan began, is exact.
* SQS: each message a queue took (``{"s": queue, "m": id, …}``, again when moved to a dead-letter
  queue) and each one deleted (``{"r": queue, "m": id}``). What was sent and not deleted is sent
  again on the next start: a consumer may see a message twice, never miss one (SQS's own promise).

A checkpoint (``Checkpointer``) rotates to a new journal file, dumps the tables and the pending
messages, then deletes the older files. Start: restore the dumps, replay every journal file left.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from inbox_local import moto_patches

log = logging.getLogger("inbox_local.journal")

PENDING_FILE = "sqs-pending.json"


def _encode(value: Any) -> Any:
    if isinstance(value, bytes):
        return {"__bytes__": base64.b64encode(value).decode("ascii")}
    raise TypeError(f"not JSON serializable: {type(value).__name__}")


def _decode(value: dict[str, Any]) -> Any:
    if len(value) == 1 and "__bytes__" in value:
        return base64.b64decode(value["__bytes__"])
    return value


class JournalClosed(RuntimeError):
    """The stack is stopping: a write now would be acknowledged and then lost, so it fails."""


class Journal:
    def __init__(self, directory: Path, fsync: bool = True) -> None:
        self.directory = directory
        self._fsync = fsync
        self._lock = threading.Lock()  # appends and rotation
        self._sync_lock = threading.Lock()  # one fsync at a time; taken before _lock
        self._fd: int | None = None
        self._closed = False
        self._seq = 0
        self._written = 0  # lines appended to the current file
        self._synced = 0
        self._bytes = 0
        self._opened_at = time.monotonic()
        self._thread = threading.local()
        # SQS messages taken and not deleted, by message id: what a checkpoint saves.
        self._pending: dict[str, dict[str, Any]] = {}

    # ------------------------------------------------------------------ files
    def files(self) -> list[Path]:
        if not self.directory.exists():
            return []
        return sorted(self.directory.glob("*.log"), key=lambda path: int(path.stem))

    def open(self) -> None:
        """Start writing to a file after every existing one."""
        self.directory.mkdir(parents=True, exist_ok=True)
        existing = self.files()
        with self._lock:
            self._seq = int(existing[-1].stem) + 1 if existing else 1
            self._open_current()

    def _open_current(self) -> None:
        path = self.directory / f"{self._seq:08d}.log"
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._written = self._synced = self._bytes = 0
        self._opened_at = time.monotonic()
        _fsync_directory(self.directory)

    def rotate(self) -> tuple[int, list[dict[str, Any]]]:
        """Switch to a new file; the new file's number and the messages pending at that instant.
        Files numbered below it hold nothing that a dump taken from now on will not contain."""
        with self._sync_lock, self._lock:
            assert self._fd is not None
            os.fsync(self._fd)
            os.close(self._fd)
            self._seq += 1
            self._open_current()
            return self._seq, list(self._pending.values())

    def remove_before(self, seq: int) -> None:
        for path in self.files():
            if int(path.stem) < seq:
                path.unlink()

    def close(self) -> None:
        with self._sync_lock, self._lock:
            self._closed = True
            if self._fd is not None:
                os.fsync(self._fd)
                os.close(self._fd)
                self._fd = None

    def size(self) -> tuple[int, float]:
        """Bytes in the current file and its age in seconds."""
        with self._lock:
            return self._bytes, time.monotonic() - self._opened_at

    # ------------------------------------------------------------------ writing
    def append(self, records: list[dict[str, Any]]) -> None:
        line = (json.dumps(records, separators=(",", ":"), default=_encode) + "\n").encode("utf-8")
        with self._lock:
            if self._closed:
                raise JournalClosed("the local stack is stopping")
            for record in records:
                if "s" in record:
                    self._pending[record["m"]] = record
                elif "r" in record:
                    self._pending.pop(record["m"], None)
            if self._fd is None:
                return  # replaying at start: only the pending messages are tracked
            # One write per line: a kill tears at most the last line, which nobody was answered for.
            os.write(self._fd, line)
            self._written += 1
            self._bytes += len(line)
            self._thread.mark = (self._seq, self._written)

    def sync(self) -> None:
        """Make this thread's appends durable (called before moto answers the request that made them)."""
        mark = getattr(self._thread, "mark", None)
        if mark is None:
            return
        self._thread.mark = None
        if not self._fsync:
            return  # written to the kernel already: a killed process loses nothing, a crashed machine may
        seq, written = mark
        with self._sync_lock:
            with self._lock:
                if seq != self._seq or self._synced >= written or self._fd is None:
                    return  # rotated (rotation fsyncs) or another thread's fsync covered it
                fd, target = self._fd, self._written
            os.fsync(fd)
            with self._lock:
                if seq == self._seq:
                    self._synced = max(self._synced, target)

    # ------------------------------------------------------------------ reading
    def records(self) -> Iterator[dict[str, Any]]:
        for path in self.files():
            with path.open("rb") as handle:
                for number, raw in enumerate(handle, start=1):
                    try:
                        line = json.loads(raw, object_hook=_decode)
                    except ValueError:
                        # Torn by a kill mid-write: that request was never answered.
                        log.warning("%s:%d: incomplete record skipped", path.name, number)
                        continue
                    yield from line


class _Recorder:
    """moto_patches' write observer: the final state of every item a DynamoDB write touched, one
    journal line per request (a transaction's items together). Called inside moto's lock."""

    _WRITES = frozenset({"put_item", "update_item", "delete_item"})

    def __init__(self, journal: Journal) -> None:
        self._journal = journal
        self._depth = 0
        self._records: list[dict[str, Any]] = []

    def __call__(self, name: str, original: Callable[..., Any], args: tuple[Any, ...], kwargs: Any) -> Any:
        self._depth += 1
        try:
            result = original(*args, **kwargs)
            if name in self._WRITES:
                self._records.append(self._state_after(name, args, kwargs))
            return result
        finally:
            self._depth -= 1
            if self._depth == 0 and self._records:
                records, self._records = self._records, []
                self._journal.append(records)

    @staticmethod
    def _state_after(name: str, args: tuple[Any, ...], kwargs: Any) -> dict[str, Any]:
        # moto's responses and moto_patches pass (backend, table_name, item or key, ...) positionally.
        backend = args[0]
        table_name = args[1] if len(args) > 1 else kwargs["table_name"]
        second = args[2] if len(args) > 2 else kwargs.get("item_attrs", kwargs.get("key"))
        table = backend.get_table(table_name)
        if name == "put_item":
            key = {table.hash_key_attr: second[table.hash_key_attr]}
            if table.range_key_attr:
                key[table.range_key_attr] = second[table.range_key_attr]
        else:
            key = dict(second)
        item = table.get_item(*backend.get_keys_value(table, key))
        return {"d": table.name, "k": key, "i": item.to_json()["Attributes"] if item is not None else None}


def _message_record(queue: Any, message: Any) -> dict[str, Any]:
    return {
        "s": queue.name,
        "m": message.id,
        "b": message.body,
        "a": message.message_attributes or None,
        "g": message.group_id,
        "x": message.deduplication_id,
        "t": message.delayed_until / 1000 if message.delayed_until else 0,
    }


class _Active:
    journal: Journal | None = None


def install(journal: Journal) -> None:
    """Journal this process's moto from now on (one stack per process)."""
    moto_patches.apply_moto_patches()
    _Active.journal = journal
    moto_patches.set_write_observer(_Recorder(journal))
    _patch_sqs()


def _patch_sqs() -> None:
    from moto.sqs.models import Queue, SQSBackend

    if getattr(Queue, "_inbox_journaled", False):
        return
    add_message, delete_message, purge_queue = Queue.add_message, Queue.delete_message, SQSBackend.purge_queue

    def journaled_add(queue: Any, message: Any) -> None:
        add_message(queue, message)
        journal = _Active.journal
        if journal is None:
            return
        # Just appended, so searched from the end: only a dropped duplicate costs a full pass.
        if (
            queue.fifo_queue
            and message.deduplication_id
            and not any(m is message for m in reversed(queue._messages))
        ):
            return  # a FIFO duplicate within the deduplication window: dropped, as SQS does
        journal.append([_message_record(queue, message)])

    def journaled_delete(queue: Any, receipt_handle: str) -> None:
        ids = [m.id for m in queue._messages if m.had_receipt_handle(receipt_handle)]
        delete_message(queue, receipt_handle)
        if _Active.journal is not None and ids:
            _Active.journal.append([{"r": queue.name, "m": message_id} for message_id in ids])

    def journaled_purge(backend: Any, queue_name: str) -> None:
        ids = [m.id for m in backend.get_queue(queue_name)._messages]
        purge_queue(backend, queue_name)
        if _Active.journal is not None and ids:
            _Active.journal.append([{"r": queue_name, "m": message_id} for message_id in ids])

    Queue.add_message = journaled_add  # type: ignore[method-assign]
    Queue.delete_message = journaled_delete  # type: ignore[method-assign]
    SQSBackend.purge_queue = journaled_purge  # type: ignore[method-assign]
    Queue._inbox_journaled = True  # type: ignore[attr-defined]


def sync_request() -> None:
    """Called by the moto server after each request: its journal records reach the disk first."""
    if _Active.journal is not None:
        _Active.journal.sync()


def replay(journal: Journal, data_dir: Path, account_id: str, region: str) -> dict[str, int]:
    """Applies the pending messages of the last checkpoint and every journal file to moto (in
    process, before anything else runs); counts of what was replayed."""
    from moto.dynamodb.models import dynamodb_backends
    from moto.sqs.models import sqs_backends

    dynamodb = dynamodb_backends[account_id][region]
    sqs = sqs_backends[account_id][region]
    pending: dict[str, dict[str, Any]] = {}
    pending_path = data_dir / PENDING_FILE
    if pending_path.exists():
        for record in json.loads(pending_path.read_text(encoding="utf-8"), object_hook=_decode):
            pending[record["m"]] = record
    items = 0
    unknown_tables: set[str] = set()
    for record in journal.records():
        if "d" in record:
            if record["d"] not in dynamodb.tables:
                unknown_tables.add(record["d"])
                continue
            items += 1
            if record["i"] is not None:
                dynamodb.put_item(record["d"], record["i"])
            else:
                table = dynamodb.get_table(record["d"])
                if table.get_item(*dynamodb.get_keys_value(table, record["k"])) is not None:
                    dynamodb.delete_item(record["d"], record["k"])
        elif "s" in record:
            pending[record["m"]] = record
        elif "r" in record:
            pending.pop(record["m"], None)
    if unknown_tables:
        log.warning(
            "journal records of tables no longer in template.yaml skipped: %s", sorted(unknown_tables)
        )
    resent = 0
    now = time.time()
    for record in pending.values():
        if record["s"] not in sqs.queues:
            log.warning("queue %s is gone: message %s not restored", record["s"], record["m"])
            continue
        # Sent again under a new id (moto allots ids): the journal tracks the new one.
        sqs.send_message(
            record["s"],
            record["b"],
            message_attributes=record.get("a") or None,
            delay_seconds=max(0, math.ceil(record.get("t", 0) - now)) if record.get("t") else 0,
            deduplication_id=record.get("x"),
            group_id=record.get("g"),
            validate_group_id=False,
        )
        resent += 1
    return {"items": items, "messages": resent}


def write_pending(data_dir: Path, pending: list[dict[str, Any]]) -> None:
    target = data_dir / PENDING_FILE
    write_atomically(target, json.dumps(pending, default=_encode).encode("utf-8"))


def write_atomically(target: Path, data: bytes) -> None:
    """Temporary file, fsync, rename, fsync the directory: the old or the new file, never half."""
    temporary = target.with_name(f".{target.name}.tmp")
    with temporary.open("wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, target)
    _fsync_directory(target.parent)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
