"""Cold start: each function's handler module imported in a fresh interpreter, as a ratio to
`import boto3` measured in the same run (the machine's speed cancels out). Target for the webhook:
at most 1.5 (docs/ARCHITECTURE.md, "Cold start"). Tracing off, as deployed (template.yaml)."""

from __future__ import annotations

import statistics
from typing import Any

from support.cold_start import handler_modules, import_fresh

RUNS = 5


def run() -> list[dict[str, Any]]:
    functions = handler_modules()
    boto3_ms: list[float] = []
    samples: dict[str, list[float]] = {logical_id: [] for logical_id in functions}
    heavy: dict[str, tuple[str, ...]] = {}
    for _ in range(RUNS):  # interleaved, so a busy moment weighs on every figure alike
        boto3_ms.append(import_fresh("boto3").ms)
        for logical_id, (module, path) in functions.items():
            imported = import_fresh(module, path)
            samples[logical_id].append(imported.ms)
            heavy[logical_id] = imported.heavy
    reference = statistics.median(boto3_ms)
    results: list[dict[str, Any]] = [
        {"operation": "cold start: import boto3 (reference)", "runs": RUNS, "p50_ms": round(reference, 1)}
    ]
    for logical_id, (module, _) in functions.items():
        p50 = statistics.median(samples[logical_id])
        results.append(
            {
                "operation": f"cold start: import {module}",
                "function": logical_id,
                "runs": RUNS,
                "p50_ms": round(p50, 1),
                "ratio_to_boto3": round(p50 / reference, 2),
                "loads": list(heavy[logical_id]),
            }
        )
    return results
