"""What a cold start loads (tests/support/cold_start.py imports each handler in a fresh interpreter).
Timings are `make bench`'s (s09_cold_start); these are the structural facts behind them."""

from __future__ import annotations

import os

from support.cold_start import handler_modules, import_fresh

FUNCTIONS = handler_modules()


def test_the_webhook_loads_no_sdk_no_store_no_http_client() -> None:
    module, path = FUNCTIONS["WebhookFunction"]

    heavy = import_fresh(module, path).heavy

    # boto3 comes with the first SQS client; the store and the Graph client are the ingest's.
    assert not {"aws_xray_sdk", "boto3", "pynamodb", "requests"} & set(heavy)


def test_no_function_loads_the_xray_sdk_with_tracing_off() -> None:
    modules = ",".join(module for module, _ in FUNCTIONS.values())
    paths = os.pathsep.join(path for _, path in FUNCTIONS.values())

    assert "aws_xray_sdk" not in import_fresh(modules, paths).heavy  # not one of them


def test_the_xray_sdk_is_loaded_when_powertools_would_trace() -> None:
    module, path = FUNCTIONS["WebhookFunction"]

    traced = import_fresh(module, path, {"POWERTOOLS_TRACE_DISABLED": "false", "LAMBDA_TASK_ROOT": path})

    assert "aws_xray_sdk" in traced.heavy
