"""The product's code reaches whatever AWS_ENDPOINT_URL names (DynamoDB Local, another emulator,
real AWS when unset): here a separate moto server, with nothing mocked in the process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from inbox_local.template import PROJECT_ROOT, function_code_paths, load_template, table_create_kwargs

pytestmark = pytest.mark.e2e

SCRIPT = textwrap.dedent(
    """
    import json, sys
    from api_handler import lambda_handler
    from inbox_crm.store.models import User, Workspace
    from inbox_local.apigw import http_api_event, lambda_context

    Workspace(*Workspace.key("ws_x"), workspace_id="ws_x", name="Elsewhere").save()
    User(*User.key("ws_x", "u1"), workspace_id="ws_x", user_id="u1", email="o@x", role="owner").save()
    claims = {"sub": "u1", "custom:workspace_id": "ws_x", "custom:role": "owner"}
    body = json.dumps({"name": "VIP"})
    event = http_api_event("POST", "/v1/tags", headers={"content-type": "application/json"},
                           body=body, claims=claims)
    reply = lambda_handler(event, lambda_context())
    print(json.dumps({"status": reply["statusCode"]}))
    """
)


def test_the_functions_use_the_endpoint_aws_endpoint_url_names(tmp_path: Path) -> None:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    try:
        host, port = server.get_host_and_port()
        endpoint = f"http://{host}:{port}"
        dynamodb = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        dynamodb.create_table(**table_create_kwargs(load_template(), "elsewhere"))
        env = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "MOTO"))} | {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "x",
            "AWS_SECRET_ACCESS_KEY": "x",
            "AWS_DEFAULT_REGION": "us-east-1",
            "TABLE_NAME": "elsewhere",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_METRICS_DISABLED": "true",
            "PYTHONPATH": os.pathsep.join(function_code_paths()),
        }
        result = subprocess.run(
            [sys.executable, "-c", SCRIPT],
            env=env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout.strip().splitlines()[-1]) == {"status": 201}
        items = dynamodb.scan(TableName="elsewhere")["Items"]
        assert {item["type"]["S"] for item in items} >= {
            "Workspace",
            "User",
            "Tag",
        }
    finally:
        server.stop()
