"""Counts DynamoDB requests and items read / written by every client in the process (boto3 and
pynamodb both go through botocore's BaseClient._make_api_call)."""

from __future__ import annotations

import statistics
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient

_READS = {"GetItem", "Query", "Scan", "BatchGetItem", "TransactGetItems"}
_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}


@dataclass
class Cost:
    requests: int = 0
    items_read: int = 0
    items_written: int = 0
    by_operation: dict[str, int] = field(default_factory=dict)

    def add(self, operation: str, params: dict[str, Any], response: dict[str, Any]) -> None:
        self.requests += 1
        self.by_operation[operation] = self.by_operation.get(operation, 0) + 1
        if operation == "GetItem":
            self.items_read += 1 if "Item" in response else 0
        elif operation in ("Query", "Scan"):
            self.items_read += int(response.get("ScannedCount", response.get("Count", 0)))
        elif operation == "BatchGetItem":
            self.items_read += sum(len(items) for items in response.get("Responses", {}).values())
        elif operation == "TransactGetItems":
            self.items_read += len(response.get("Responses", []))
        elif operation in ("PutItem", "UpdateItem", "DeleteItem"):
            self.items_written += 1
        elif operation == "BatchWriteItem":
            self.items_written += sum(len(requests) for requests in params.get("RequestItems", {}).values())
        elif operation == "TransactWriteItems":
            self.items_written += sum(
                1 for item in params.get("TransactItems", []) if "ConditionCheck" not in item
            )


class _Meter:
    def __init__(self) -> None:
        self.cost: Cost | None = None
        self._original = BaseClient._make_api_call

    def install(self) -> None:
        meter = self
        original = self._original

        def metered(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
            try:
                response = original(client, operation, params)
            except Exception as error:
                if meter.cost is not None and client.meta.service_model.service_name == "dynamodb":
                    meter.cost.add(operation, params, getattr(error, "response", {}) or {})
                raise
            if meter.cost is not None and client.meta.service_model.service_name == "dynamodb":
                meter.cost.add(operation, params, response)
            return response

        BaseClient._make_api_call = metered  # type: ignore[method-assign]


METER = _Meter()
METER.install()


@contextmanager
def metered() -> Iterator[Cost]:
    cost = Cost()
    METER.cost = cost
    try:
        yield cost
    finally:
        METER.cost = None


def measure(name: str, operation: Callable[[], Any], runs: int = 20, **context: Any) -> dict[str, Any]:
    """Run `operation` `runs` times: latency p50/p95 (ms) and the DynamoDB cost of one run (mean)."""
    latencies = []
    costs = []
    for _ in range(runs):
        with metered() as cost:
            start = time.perf_counter()
            operation()
            latencies.append((time.perf_counter() - start) * 1000)
        costs.append(cost)
    latencies.sort()
    return {
        "operation": name,
        **context,
        "runs": runs,
        "p50_ms": round(statistics.median(latencies), 3),
        "p95_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.95))], 3),
        "dynamodb_requests": round(statistics.mean(c.requests for c in costs), 2),
        "items_read": round(statistics.mean(c.items_read for c in costs), 2),
        "items_written": round(statistics.mean(c.items_written for c in costs), 2),
        "requests_by_operation": costs[-1].by_operation,
    }


@contextmanager
def peak_memory() -> Iterator[dict[str, float]]:
    result: dict[str, float] = {}
    tracemalloc.start()
    try:
        yield result
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        result["peak_mib"] = round(peak / (1024 * 1024), 2)
