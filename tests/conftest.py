"""Shared fixtures: moto-backed AWS with the table, queue and bus exactly as template.yaml declares them.

Environment is set before any project module is imported, because pynamodb models read their
table name when their module is first imported.
"""

from __future__ import annotations

import os
import sys

os.environ.update(
    {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "TABLE_NAME": "inbox-test",
        "EVENT_BUS_NAME": "inbox-test",
        "MEDIA_BUCKET": "inbox-media-test",
        # Handlers check their variables when imported (core/settings.load_settings); the queue
        # fixtures replace these with the queues they create.
        "INBOUND_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/inbound-unset.fifo",
        "WORK_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/123456789012/work-unset",
        "META_APP_SECRET": "test-app-secret,second-app-secret",
        "META_VERIFY_TOKEN": "test-verify-token",
        "META_APP_ID": "999999999999999",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_METRICS_NAMESPACE": "InboxCRMTest",
        "POWERTOOLS_SERVICE_NAME": "inbox-crm-test",
        "POWERTOOLS_DEV": "false",
        "POWERTOOLS_LOG_LEVEL": "WARNING",
        "POWERTOOLS_METRICS_DISABLED": "true",
    }
)
os.environ.pop("AWS_ENDPOINT_URL", None)

from inbox_local import local_secrets

# Every function's code directory, as template.yaml declares it, is importable by its handler module.
from inbox_local.template import function_code_paths

for _path in function_code_paths():
    if _path not in sys.path:
        sys.path.insert(0, _path)

# What SSM / Secrets Manager hold in AWS, from the variables above, as the local stack does.
local_secrets.install()

pytest_plugins = ["support.aws_needs", "support.fixtures"]
