"""The local stack's settings: command-line flags over environment variables over dev defaults.

=======================  ================================  ==============================================
variable                 default                           meaning
=======================  ================================  ==============================================
LOCAL_PORT               3000                              gateway: API, webhook, web app, /docs (0: any)
LOCAL_GRAPH_PORT         3001                              Graph API stand-in (0: any free port)
LOCAL_AWS_PORT           4566                              moto: DynamoDB, SQS, EventBridge (0: any)
LOCAL_DATA_DIR           <repo>/.local-data                table dumps that survive a restart
LOCAL_SCHEDULE_SECONDS   10                                schedules fire this often locally (0: never)
LOCAL_JWT_SECRET         tokens.DEFAULT_JWT_SECRET         HS256 key of dev tokens (`inbox-local token`)
LOCAL_PAGE_TOKENS        a token per demo account          Graph access tokens, "account=token,…"
LOCAL_LOG_LEVEL          INFO                              the stack's own log level
LOCAL_JOURNAL_FSYNC      1                                 fsync the journal before moto answers (0: off)
LOCAL_FAULTS             (none)                            fault rates: "dynamodb=0.1,sqs=0.1,graph=0.1"…
LOCAL_FAULTS_SEED        (random)                          seeds the faults' random choices
LOCAL_SQS_MAX_VISIBILITY_SECONDS  (template's)             caps queues' visibility timeout (make chaos)
LOCAL_RULE_MAX_RETRIES   2                                 retries of a failed EventBridge rule target
META_APP_SECRET          dev-app-secret                    signs webhooks (comma-separated: rotation)
META_VERIFY_TOKEN        dev-verify-token                  answers Meta's subscription handshake
META_APP_ID              999999999999999                   our app id (echoes of our own sends)
EVENT_BUS_NAME           inbox                             the local bus functions publish to
AWS_REGION               us-east-1                         region of the local resources
=======================  ================================  ==============================================
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from inbox_local import demo
from inbox_local.template import PROJECT_ROOT, TEMPLATE_PATH
from inbox_local.tokens import DEFAULT_JWT_SECRET

DEFAULT_DATA_DIR = PROJECT_ROOT / ".local-data"


def data_dir_from_env() -> Path:
    return Path(os.environ.get("LOCAL_DATA_DIR") or DEFAULT_DATA_DIR).expanduser().resolve()


def first_app_secret() -> str:
    """The secret replays are signed with: the first of META_APP_SECRET's values."""
    secrets = [part.strip() for part in os.environ.get("META_APP_SECRET", "").split(",") if part.strip()]
    return secrets[0] if secrets else StackConfig.meta_app_secret


@dataclass(frozen=True)
class StackConfig:
    host: str = "127.0.0.1"
    port: int = 3000
    graph_port: int = 3001
    aws_port: int = 4566
    data_dir: Path = DEFAULT_DATA_DIR
    schedule_seconds: float = 10.0
    snapshot_seconds: float = 2.0
    drain_seconds: float = 3.0
    journal_fsync: bool = True
    faults: str = ""
    faults_seed: int | None = None
    jwt_secret: str = DEFAULT_JWT_SECRET
    meta_app_secret: str = "dev-app-secret"
    meta_verify_token: str = "dev-verify-token"
    meta_app_id: str = "999999999999999"
    page_tokens: str = ""
    event_bus_name: str = "inbox"
    region: str = "us-east-1"
    web_root: Path = PROJECT_ROOT / "web"
    template_path: Path = TEMPLATE_PATH

    @classmethod
    def from_env(cls, **overrides: object) -> StackConfig:
        """Settings from the environment; ``overrides`` that are not None win (command-line flags)."""
        env = os.environ
        values: dict[str, object] = {
            "port": int(env.get("LOCAL_PORT", cls.port)),
            "graph_port": int(env.get("LOCAL_GRAPH_PORT", cls.graph_port)),
            "aws_port": int(env.get("LOCAL_AWS_PORT", cls.aws_port)),
            "data_dir": data_dir_from_env(),
            "schedule_seconds": float(env.get("LOCAL_SCHEDULE_SECONDS", cls.schedule_seconds)),
            "jwt_secret": env.get("LOCAL_JWT_SECRET") or DEFAULT_JWT_SECRET,
            "meta_app_secret": env.get("META_APP_SECRET") or cls.meta_app_secret,
            "meta_verify_token": env.get("META_VERIFY_TOKEN") or cls.meta_verify_token,
            "meta_app_id": env.get("META_APP_ID") or cls.meta_app_id,
            "page_tokens": env.get("LOCAL_PAGE_TOKENS") or demo.local_page_tokens(),
            "event_bus_name": env.get("EVENT_BUS_NAME") or cls.event_bus_name,
            "region": env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or cls.region,
            "faults": env.get("LOCAL_FAULTS", ""),
            "faults_seed": int(env["LOCAL_FAULTS_SEED"]) if env.get("LOCAL_FAULTS_SEED") else None,
            "journal_fsync": env.get("LOCAL_JOURNAL_FSYNC", "1").strip().lower() not in ("0", "false", "no"),
        }
        values.update({name: value for name, value in overrides.items() if value is not None})
        if isinstance(values["data_dir"], str):
            values["data_dir"] = Path(values["data_dir"]).expanduser().resolve()
        return cls(**values)  # type: ignore[arg-type]
