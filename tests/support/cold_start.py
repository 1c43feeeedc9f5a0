"""What a cold start imports: one module imported in a fresh interpreter, as Lambda's init does.

Used by tests/unit/test_cold_start.py (which heavy modules a handler loads) and by `make bench`
(import time as a ratio to `import boto3` in the same run)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass

from inbox_local.template import load_template

# Modules whose presence after a handler's import says what its cold start pays for.
HEAVY = ("aws_xray_sdk", "boto3", "botocore", "pynamodb", "pydantic", "requests")

# Variables handlers check at import (core/settings.load_settings): values only need to be present.
_PLACEHOLDERS = {
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
    "TABLE_NAME": "inbox",
    "EVENT_BUS_NAME": "inbox",
    "INBOUND_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/inbound.fifo",
    "WORK_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/work",
    "MEDIA_BUCKET": "inbox-media",
}

_PROBE = """
import importlib, json, sys, time
started = time.perf_counter()
for name in sys.argv[1:]:
    importlib.import_module(name)
elapsed = time.perf_counter() - started
print(json.dumps({"ms": elapsed * 1000, "modules": sorted(sys.modules)}))
"""


@dataclass(frozen=True)
class Imported:
    ms: float
    heavy: tuple[str, ...]  # the HEAVY modules loaded


def handler_modules() -> dict[str, tuple[str, str]]:
    """Function logical id -> (handler module, its code directory), from template.yaml."""
    return {
        logical_id: (spec.module, str(spec.code_uri))
        for logical_id, spec in sorted(load_template().functions.items())
    }


def import_fresh(module: str, path: str = "", env: dict[str, str] | None = None) -> Imported:
    """Import ``module`` (from ``path``) in a new interpreter; how long it took and what it loaded.
    (Several: comma-separated modules, os.pathsep-separated paths, imported one after the other.)"""
    environment = {**os.environ, **_PLACEHOLDERS, "POWERTOOLS_TRACE_DISABLED": "true", **(env or {})}
    environment["PYTHONPATH"] = os.pathsep.join(filter(None, [path, environment.get("PYTHONPATH", "")]))
    done = subprocess.run(
        [sys.executable, "-c", _PROBE, *module.split(",")],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"importing {module} failed:\n{done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    loaded = set(report["modules"])
    return Imported(ms=report["ms"], heavy=tuple(name for name in HEAVY if name in loaded))
