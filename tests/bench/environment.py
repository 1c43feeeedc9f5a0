"""The same moto-backed AWS the tests use, with the table from template.yaml."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager


def prepare() -> None:
    from inbox_local.template import function_code_paths

    for path in function_code_paths():
        if path not in sys.path:
            sys.path.insert(0, path)
    os.environ.update(
        {
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "bench",
            "AWS_SECRET_ACCESS_KEY": "bench",
            "TABLE_NAME": "inbox-bench",
            "EVENT_BUS_NAME": "inbox-bench",
            "META_APP_SECRET": "bench-secret",
            "META_VERIFY_TOKEN": "bench-token",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "ERROR",
            "POWERTOOLS_METRICS_NAMESPACE": "Bench",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "POWERTOOLS_SERVICE_NAME": "bench",
        }
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    from inbox_local import local_secrets

    local_secrets.install()


@contextmanager
def fresh_aws() -> Iterator[None]:
    import boto3
    from moto import mock_aws

    from inbox_crm.core.aws import reset_clients
    from inbox_crm.core.settings import get_settings
    from inbox_crm.workspaces.routing import forget_routes
    from inbox_local.moto_patches import apply_moto_patches
    from inbox_local.template import load_template, table_create_kwargs

    get_settings.cache_clear()
    reset_clients()
    forget_routes()
    apply_moto_patches()
    with mock_aws():
        settings = get_settings()
        boto3.client("dynamodb").create_table(**table_create_kwargs(load_template(), settings.table_name))
        boto3.client("events").create_event_bus(Name=settings.event_bus_name)
        yield
    reset_clients()
    forget_routes()
