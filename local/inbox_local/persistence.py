"""Makes local data survive a restart: moto keeps everything in memory, so every table is dumped to
``<data dir>/dynamodb/<table>.json`` (DynamoDB's JSON with type descriptors) and restored on start;
what changed since the dump is in the journal (``journal.py``), replayed after the dumps.

Dumps are written to a temporary file, fsynced and renamed, so a crash never leaves half a file.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import shutil
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from inbox_local.journal import Journal, write_atomically, write_pending

log = logging.getLogger("inbox_local.persistence")

DUMP_FORMAT = 1
BATCH_WRITE_LIMIT = 25


class CorruptSnapshot(ValueError):
    pass


class TableSnapshots:
    def __init__(self, dynamodb: Any, data_dir: Path, table_names: list[str]) -> None:
        self._dynamodb = dynamodb
        self._dir = data_dir / "dynamodb"
        self._tables = table_names
        self._lock = threading.Lock()

    def path_for(self, table_name: str) -> Path:
        return self._dir / f"{table_name}.json"

    def dump_all(self) -> dict[str, int]:
        """Item count written per table."""
        with self._lock:
            self._dir.mkdir(parents=True, exist_ok=True)
            return {table: self._dump(table) for table in self._tables}

    def _dump(self, table_name: str) -> int:
        items: list[dict[str, Any]] = []
        for page in self._dynamodb.get_paginator("scan").paginate(TableName=table_name, ConsistentRead=True):
            items.extend(page.get("Items", []))
        dump = {"format": DUMP_FORMAT, "table": table_name, "items": items}
        write_atomically(self.path_for(table_name), json.dumps(dump).encode("utf-8"))
        return len(items)

    def restore_all(self) -> dict[str, int]:
        """Item count restored per table that had a dump."""
        restored = {}
        for table_name in self._tables:
            path = self.path_for(table_name)
            if path.exists():
                restored[table_name] = self._restore(table_name, path)
        for orphan in sorted(set(self._dir.glob("*.json")) - {self.path_for(t) for t in self._tables}):
            log.warning("%s: no such table in template.yaml any more, not restored", orphan.name)
        return restored

    def _restore(self, table_name: str, path: Path) -> int:
        try:
            with path.open(encoding="utf-8") as handle:
                items = json.load(handle)["items"]
        except (ValueError, KeyError) as error:
            raise CorruptSnapshot(
                f"{path} is not a table dump ({error}): `inbox-local reset` wipes it"
            ) from error
        for start in range(0, len(items), BATCH_WRITE_LIMIT):
            requests = [{"PutRequest": {"Item": item}} for item in items[start : start + BATCH_WRITE_LIMIT]]
            pending: dict[str, Any] = {table_name: requests}
            while pending:
                response = self._dynamodb.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
        return len(items)


class BucketSnapshots:
    """S3 objects of the template's buckets, one file per object under <data dir>/s3/<bucket>/."""

    def __init__(self, s3: Any, data_dir: Path, bucket_names: list[str]) -> None:
        self._s3 = s3
        self._dir = data_dir / "s3"
        self._buckets = bucket_names

    def _path(self, bucket: str, key: str) -> Path:
        return self._dir / bucket / base64.urlsafe_b64encode(key.encode("utf-8")).decode("ascii")

    def dump_all(self) -> dict[str, int]:
        counts = {}
        for bucket in self._buckets:
            (self._dir / bucket).mkdir(parents=True, exist_ok=True)
            written = 0
            for page in self._s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
                for entry in page.get("Contents", []):
                    path = self._path(bucket, entry["Key"])
                    if path.exists() and path.stat().st_size == entry["Size"]:
                        continue  # objects are written once: keys are unique
                    body = self._s3.get_object(Bucket=bucket, Key=entry["Key"])
                    temporary = path.with_name(f".{path.name}.tmp")
                    temporary.write_bytes(body["Body"].read())
                    os.replace(temporary, path)
                    (path.with_name(f"{path.name}.type")).write_text(
                        body.get("ContentType", ""), encoding="utf-8"
                    )
                    written += 1
            counts[bucket] = written
        return counts

    def restore_all(self) -> dict[str, int]:
        counts = {}
        for bucket in self._buckets:
            folder = self._dir / bucket
            restored = 0
            for path in sorted(folder.glob("*")) if folder.exists() else []:
                if path.name.endswith(".type") or path.name.startswith("."):
                    continue
                key = base64.urlsafe_b64decode(path.name.encode("ascii")).decode("utf-8")
                type_file = path.with_name(f"{path.name}.type")
                content_type = type_file.read_text(encoding="utf-8") if type_file.exists() else ""
                extra = {"ContentType": content_type} if content_type else {}
                self._s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), **extra)
                restored += 1
            counts[bucket] = restored
        return counts


class StackSnapshots:
    """Tables and buckets, saved and restored together."""

    def __init__(self, tables: TableSnapshots, buckets: BucketSnapshots) -> None:
        self.tables = tables
        self.buckets = buckets

    def dump_all(self) -> dict[str, int]:
        return {**self.tables.dump_all(), **self.buckets.dump_all()}

    def restore_all(self) -> dict[str, int]:
        return {**self.tables.restore_all(), **self.buckets.restore_all()}


class Checkpointer:
    """Keeps the journal short: a checkpoint rotates it, dumps the tables and the pending SQS
    messages, then deletes the older journal files (whatever a dump missed is in the newer file).
    In the background: a checkpoint once the journal passes ``max_bytes`` or ``max_age`` seconds,
    and bucket objects (not journaled) every ``interval`` seconds when DynamoDB saw writes."""

    def __init__(
        self,
        snapshots: StackSnapshots,
        journal: Journal,
        data_dir: Path,
        write_counter: Callable[[], int],
        interval: float,
        stop: threading.Event,
        max_bytes: int = 16 * 1024 * 1024,
        max_age: float = 120.0,
    ) -> None:
        self._snapshots = snapshots
        self._journal = journal
        self._data_dir = data_dir
        self._write_counter = write_counter
        self._interval = interval
        self._stop = stop
        self._max_bytes = max_bytes
        self._max_age = max_age
        self._lock = threading.Lock()
        self._buckets_at_count = -1
        self._thread = threading.Thread(target=self._run, name="checkpoints", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def join(self, timeout: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout)

    def checkpoint(self) -> dict[str, int]:
        with self._lock:
            seq, pending = self._journal.rotate()
            counts = self._snapshots.dump_all()
            write_pending(self._data_dir, pending)
            self._journal.remove_before(seq)
            return {**counts, "pending messages": len(pending)}

    def dump_buckets_if_changed(self) -> None:
        count = self._write_counter()
        if count != self._buckets_at_count:
            self._snapshots.buckets.dump_all()
            self._buckets_at_count = count

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                size, age = self._journal.size()
                if size > self._max_bytes or (size and age > self._max_age):
                    self.checkpoint()
                self.dump_buckets_if_changed()
            except Exception as error:
                log.warning("checkpoint failed, will retry: %r", error)


class DataDirInUse(Exception):
    pass


class DataDirLock:
    """A pid file: two stacks on one data directory would overwrite each other's dumps."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / "stack.pid"

    def holder(self) -> int | None:
        try:
            pid = int(self.path.read_text().strip())
        except (OSError, ValueError):
            return None
        if pid == os.getpid():
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return pid

    def acquire(self) -> None:
        holder = self.holder()
        if holder is not None:
            raise DataDirInUse(f"another local stack (pid {holder}) uses {self.path.parent}")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(str(os.getpid()))

    def release(self) -> None:
        try:
            if self.path.read_text().strip() == str(os.getpid()):
                self.path.unlink()
        except OSError:
            pass


def reset_data_dir(data_dir: Path) -> list[Path]:
    """Deletes the data directory; returns the files it held."""
    if not data_dir.exists():
        return []
    files = sorted(path for path in data_dir.rglob("*") if path.is_file())
    shutil.rmtree(data_dir)
    return files
