"""The whole product on loopback: moto, the resources of template.yaml, the seeded demo, the event
sources, the Graph API stand-in and the gateway, started and stopped in order.

It sets process-wide environment variables (AWS_ENDPOINT_URL, TABLE_NAME…) that the project's
modules read when first imported, so one process runs one stack: tests start it in a subprocess.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import warnings
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from inbox_local import aws, demo, journal, local_secrets
from inbox_local.bustap import BusTap
from inbox_local.config import StackConfig
from inbox_local.consumers import DeadLetters, SqsConsumer
from inbox_local.faults import Faults, FaultSpecError, install_aws, parse_rates
from inbox_local.gateway import Gateway
from inbox_local.graph_standin import GraphStandIn
from inbox_local.invoker import FunctionLoadError, FunctionRegistry
from inbox_local.persistence import BucketSnapshots, Checkpointer, DataDirLock, StackSnapshots, TableSnapshots
from inbox_local.resources import LocalResources, dead_letter_queue, provision
from inbox_local.rules import RuleConsumer, ScheduleTimer
from inbox_local.streams import StreamCheckpoint, StreamConsumer, StreamReader
from inbox_local.template import load_template

log = logging.getLogger("inbox_local.stack")

# An item's created_at is taken just before its write commits: items this much older than the stream
# checkpoint are handed over again too (the relay's consumers are idempotent on the event id).
STREAM_CHECKPOINT_MARGIN = timedelta(minutes=1)
_CREATED_AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%f%z"  # pynamodb's UTCDateTimeAttribute


def written_since(item: dict[str, Any], since: datetime | None) -> bool:
    if since is None:
        return True
    created = (item.get("created_at") or {}).get("S")
    try:
        return created is not None and datetime.strptime(created, _CREATED_AT_FORMAT) >= since
    except ValueError:
        return False


def hand_over_again(dynamodb: Any, consumer: StreamConsumer, since: datetime | None, region: str) -> int:
    """Items of the consumer's table written since ``since`` (all: None), from the dumps and the
    journal, go to the stream's consumer again: a stop or a kill may have come before it had them.
    It is idempotent on what the items carry (the outbox relay: the event id)."""
    table_name = consumer.reader.stream_arn.split("/")[1]
    records: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table_name, ConsistentRead=True):
        for item in page.get("Items", []):
            record = stream_record_of(item, len(records), region)
            if consumer.wanted(record) and written_since(item, since):
                records.append(record)
    for start in range(0, len(records), consumer.batch_size):
        consumer.handle(records[start : start + consumer.batch_size])
    return len(records)


def stream_record_of(item: dict[str, Any], number: int, region: str) -> dict[str, Any]:
    """A stored item as the INSERT record the stream gave (or would have given) for it."""
    return {
        "eventID": f"handed-over-{number}",
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.1",
        "awsRegion": region,
        "dynamodb": {"NewImage": item, "SequenceNumber": str(number), "StreamViewType": "NEW_IMAGE"},
    }


SCHEDULE_EVENT_TYPES = ("Schedule", "ScheduleV2")


@dataclass(frozen=True)
class StackUrls:
    url: str
    graph_url: str
    aws_url: str
    data_dir: str

    @property
    def docs_url(self) -> str:
        return f"{self.url}/docs"

    def as_dict(self) -> dict[str, str]:
        return {
            "url": self.url,
            "graph_url": self.graph_url,
            "aws_url": self.aws_url,
            "data_dir": self.data_dir,
        }


class LocalStack:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.template = load_template(config.template_path)
        self.resources: LocalResources | None = None
        self.urls: StackUrls | None = None
        self._lock = DataDirLock(config.data_dir)
        self._aws: aws.LocalAws | None = None
        self._session: Any = None
        self._graph: GraphStandIn | None = None
        self._gateway: Gateway | None = None
        self._functions = FunctionRegistry(self.template.functions)
        self._consumers: list[SqsConsumer | RuleConsumer] = []
        self._streams: list[StreamConsumer] = []
        self._timers: list[ScheduleTimer] = []
        self._snapshots: StackSnapshots | None = None
        self._journal: journal.Journal | None = None
        self._checkpointer: Checkpointer | None = None
        self._dead_letters: DeadLetters | None = None
        # Timers stop first, consumers after their current batch, checkpoints last.
        self._timers_stop = threading.Event()
        self._consumers_stop = threading.Event()
        self._snapshots_stop = threading.Event()
        self._restored = False
        self.faults = Faults(config.faults_seed)
        self.bus_tap = BusTap()

    # ------------------------------------------------------------------ start
    def start(self) -> StackUrls:
        config = self.config
        rates = parse_rates(config.faults)  # a bad LOCAL_FAULTS fails before anything starts
        self._lock.acquire()
        try:
            # Before any client exists: the handlers' clients get the fault hook (off until started).
            install_aws(self.faults)
            self.bus_tap.install()
            self._aws = aws.LocalAws(config.host, config.aws_port)
            self._aws.start()
            aws.use_local_aws(self._aws.endpoint_url, config.region)
            self._graph = GraphStandIn(config.host, config.graph_port).start()
            self._graph.faults = self.faults
            for channel in demo.CHANNELS:  # Meta "confirms" the demo tokens, so the seed can connect
                self._graph.grant(
                    channel.token, channel.platform, channel.account_id, channel.name, channel.waba_id
                )
            # Bound now, so a busy port fails the start before any data is touched; served last.
            self._gateway = Gateway(
                config.host,
                config.port,
                self.template.http_routes,
                self._functions,
                config.jwt_secret,
                config.web_root,
                control=self,
            )

            dynamodb = self._client("dynamodb")
            sqs = self._client("sqs")
            s3 = self._client("s3")
            self.resources = provision(
                self.template, dynamodb, sqs, self._client("events"), config.region, config.event_bus_name, s3
            )
            environment = self._function_environment(self.resources, self._graph.url)
            os.environ.update(environment)
            local_secrets.install()  # what SSM / Secrets Manager hold in AWS, from that environment
            self._provision_secrets(environment)

            self._snapshots = StackSnapshots(
                TableSnapshots(dynamodb, config.data_dir, list(self.resources.tables.values())),
                BucketSnapshots(s3, config.data_dir, list(self.resources.buckets.values())),
            )
            self._journal = journal.Journal(config.data_dir / "journal", fsync=config.journal_fsync)
            journal.install(self._journal)
            restored = self._snapshots.restore_all()
            replayed = journal.replay(self._journal, config.data_dir, aws.ACCOUNT_ID, config.region)
            self._journal.open()
            self._restored = True
            if restored:
                log.info("restored %s", ", ".join(f"{t} ({n} items)" for t, n in restored.items()))
            if any(replayed.values()):
                log.info(
                    "replayed the journal: %d item writes, %d queued messages",
                    replayed["items"],
                    replayed["messages"],
                )
            self._dead_letters = DeadLetters(sqs)
            # Stream readers start after the restore and the replay (which rewrote items: nothing new)
            # and before the seed; what a stop caught before the relay had it is handed over again.
            stream_checkpoint = StreamCheckpoint(config.data_dir / "stream-checkpoint.txt")
            relayed_before = stream_checkpoint.load()
            self._create_stream_sources(self.resources, stream_checkpoint)
            from inbox_local.seed import seed_if_empty  # imports inbox_crm: only now that env is set

            seed_if_empty()
            self._hand_over_again(dynamodb, relayed_before)
            self._checkpointer = Checkpointer(
                self._snapshots,
                self._journal,
                config.data_dir,
                lambda: self._aws.dynamodb_writes if self._aws else 0,
                config.snapshot_seconds,
                self._snapshots_stop,
            )
            # The replayed journal and the seed, folded into fresh dumps before anything runs.
            self._checkpointer.checkpoint()
            self._checkpointer.start()
            self._start_event_sources(self.resources, sqs)
            self._gateway.start()
            if rates:
                self.faults.set_rates(rates)  # the seed and the restore ran without faults
        except BaseException:
            self.stop()
            raise
        self.urls = StackUrls(
            url=self._gateway.url,
            graph_url=self._graph.url,
            aws_url=self._aws.endpoint_url,
            data_dir=str(config.data_dir),
        )
        return self.urls

    def _client(self, service: str) -> Any:
        assert self._aws is not None
        if self._session is None:
            # One session: each new one would parse botocore's service models again (~100 ms a client).
            self._session = aws.session(self.config.region)
        return self._session.client(service, endpoint_url=self._aws.endpoint_url)

    def _function_environment(self, resources: LocalResources, graph_url: str) -> dict[str, str]:
        """Every function's template environment (one process hosts them all), then the local values."""
        environment: dict[str, str] = {}
        for spec in self.template.functions.values():
            for name, value in resources.function_environment(spec).items():
                if name in environment and environment[name] != value:
                    log.warning(
                        "%s sets %s differently from another function: the first value wins",
                        spec.logical_id,
                        name,
                    )
                environment.setdefault(name, value)
        config = self.config
        # Metrics are disabled locally, and every handler that adds none would warn about it.
        warnings.filterwarnings("ignore", message="No application metrics to publish")
        environment.update(
            {
                "META_APP_SECRET": config.meta_app_secret,
                "META_VERIFY_TOKEN": config.meta_verify_token,
                "META_APP_ID": config.meta_app_id,
                "LOCAL_PAGE_TOKENS": config.page_tokens,
                "GRAPH_API_BASE_URL": graph_url,
                # No X-Ray daemon, and no metrics backend to read EMF lines locally.
                "POWERTOOLS_TRACE_DISABLED": os.environ.get("POWERTOOLS_TRACE_DISABLED", "true"),
                "POWERTOOLS_METRICS_DISABLED": os.environ.get("POWERTOOLS_METRICS_DISABLED", "true"),
            }
        )
        return environment

    def _provision_secrets(self, environment: dict[str, str]) -> None:
        """The page-token secret AWS would hold, with the dev tokens: tokens of accounts missing from
        LOCAL_PAGE_TOKENS are looked up there. (The Meta app secret and verify token always come from
        the environment locally: moto's SSM would add about two seconds to every start.)"""
        config = self.config
        if environment.get("PAGE_TOKENS_SECRET_NAME"):
            tokens = local_secrets.page_tokens(config.page_tokens)
            self._client("secretsmanager").create_secret(
                Name=environment["PAGE_TOKENS_SECRET_NAME"], SecretString=json.dumps(tokens)
            )

    def _create_stream_sources(self, resources: LocalResources, checkpoint: StreamCheckpoint) -> None:
        assert self._dead_letters is not None
        streams = self._client("dynamodbstreams")
        for spec, event_name, props in self.template.events_of_type("DynamoDB"):
            stream_arn = resources.resolve(props.get("Stream"))
            if not stream_arn:
                log.warning("%s.%s: stream %s is not local", spec.logical_id, event_name, props.get("Stream"))
                continue
            destination = ((props.get("DestinationConfig") or {}).get("OnFailure") or {}).get("Destination")
            self._streams.append(
                StreamConsumer(
                    self._functions[spec.logical_id],
                    event_name,
                    StreamReader(streams, stream_arn, start="LATEST"),
                    props,
                    resources.queue_for(destination) if destination else None,
                    self._dead_letters,
                    self._consumers_stop,
                    checkpoint,
                )
            )

    def _hand_over_again(self, dynamodb: Any, relayed_before: datetime | None) -> None:
        since = relayed_before - STREAM_CHECKPOINT_MARGIN if relayed_before else None
        for consumer in self._streams:
            handed = hand_over_again(dynamodb, consumer, since, self.config.region)
            if handed:
                log.info(
                    "%s: %d items written since the stream checkpoint handed over again",
                    consumer.name,
                    handed,
                )

    def _start_event_sources(self, resources: LocalResources, sqs: Any) -> None:
        assert self._dead_letters is not None
        for spec, event_name, props in self.template.events_of_type("SQS"):
            queue = resources.queue_for(props.get("Queue"))
            if queue is None:
                log.warning(
                    "%s.%s: queue %s is not in the template", spec.logical_id, event_name, props.get("Queue")
                )
                continue
            self._consumers.append(
                SqsConsumer(
                    self._functions[spec.logical_id],
                    event_name,
                    queue,
                    props,
                    self._client("sqs"),
                    self.config.region,
                    self._consumers_stop,
                )
            )
        for binding in resources.rules:
            self._consumers.append(
                RuleConsumer(
                    self._functions[binding.function.logical_id],
                    binding.rule_name,
                    binding.queue,
                    binding.properties,
                    dead_letter_queue(resources, sqs, binding.rule_name, binding.properties),
                    self._dead_letters,
                    self._client("sqs"),
                    self._consumers_stop,
                )
            )
        for event_type in SCHEDULE_EVENT_TYPES:
            for spec, event_name, props in self.template.events_of_type(event_type):
                self._timers.append(
                    ScheduleTimer(
                        self._functions[spec.logical_id],
                        event_type,
                        event_name,
                        props,
                        self.config.schedule_seconds,
                        self.config.region,
                        dead_letter_queue(resources, sqs, f"{spec.logical_id}{event_name}", props),
                        self._dead_letters,
                        self._timers_stop,
                    )
                )
        for source in [*self._streams, *self._consumers, *self._timers]:
            source.start()

    # ------------------------------------------------------------------ stop
    def stop(self) -> None:
        """Stops taking requests, lets running invocations finish (bounded), closes the journal.
        Nothing waits for the queues to empty: what they hold is in the journal, sent again on the
        next start, and an invocation cut short is redelivered like a Lambda that timed out."""
        deadline = time.monotonic() + self.config.drain_seconds
        if self._gateway is not None:
            self._gateway.stop()
            self._gateway = None
        self._timers_stop.set()
        self._consumers_stop.set()
        self._snapshots_stop.set()
        for worker in [*self._timers, *self._streams, *self._consumers]:
            worker.join(timeout=max(0.0, deadline - time.monotonic()))
        busy = [worker.name for worker in self._consumers if worker.busy]
        if busy:
            log.warning("stopped during an invocation (redelivered on the next start): %s", ", ".join(busy))
        if self._checkpointer is not None:
            self._checkpointer.join(timeout=max(0.0, deadline - time.monotonic()))
            if self._restored:
                try:
                    self._checkpointer.dump_buckets_if_changed()
                except Exception:
                    log.exception("saving bucket objects failed: the newest ones are lost")
        self._restored = False
        if self._graph is not None:
            self._graph.stop()
            self._graph = None
        if self._aws is not None:
            self._aws.stop()
            self._aws = None
        if self._journal is not None:
            # After moto stopped listening; a request still inside it fails instead of being lost.
            self._journal.close()
            log.info("data kept in %s (the journal is replayed on the next start)", self.config.data_dir)
        self._lock.release()

    # ------------------------------------------------------------------ /_local/ controls
    def fire_schedule(self, function: str) -> tuple[int, dict[str, Any]]:
        timers = [t for t in self._timers if function in (t.function.name, t.schedule_name)]
        if not timers:
            known = sorted({t.function.name for t in self._timers})
            return 404, {"message": f"No schedule for {function}", "schedules": known}
        results = []
        for timer in timers:
            outcome: dict[str, Any] = {"schedule": timer.schedule_name}
            try:
                outcome.update(ok=True, result=_jsonable(timer.fire_now()))
            except FunctionLoadError as error:
                outcome.update(ok=False, error=str(error))
            except Exception as error:
                outcome.update(ok=False, error=repr(error))
            results.append(outcome)
        status = 200 if all(result["ok"] for result in results) else 500
        return status, {"function": timers[0].function.name, "results": results}

    def faults_control(self, method: str, body: bytes) -> tuple[int, dict[str, Any]]:
        """GET: rates and counts; POST ``{"dynamodb": 0.1, …}``: these rates (others off); DELETE: off."""
        if method == "POST":
            try:
                self.faults.set_rates(parse_rates(json.loads(body or b"{}")))
            except (ValueError, FaultSpecError) as error:
                return 400, {"message": str(error)}
        elif method == "DELETE":
            self.faults.clear()
        return 200, self.faults.status()

    def bus_events(self, query: dict[str, list[str]]) -> tuple[int, dict[str, Any]]:
        """What reached the bus: ``?detail_type=MessageReceived&after=<seq>&limit=N``."""
        try:
            after = int(query.get("after", ["0"])[0])
            limit = int(query.get("limit", ["10000"])[0])
        except ValueError:
            return 400, {"message": "after and limit are integers"}
        events, last = self.bus_tap.events(query.get("detail_type", [None])[0], after, limit)
        return 200, {"events": events, "last": last}

    def status(self) -> dict[str, Any]:
        resources = self.resources
        return {
            "functions": self._functions.status(),
            "consumers": [consumer.status() for consumer in [*self._streams, *self._consumers]],
            "schedules": [timer.status() for timer in self._timers],
            "dead_letters": self._dead_letters.entries() if self._dead_letters else [],
            "faults": self.faults.status(),
            "resources": {
                "tables": dict(resources.tables) if resources else {},
                "queues": {k: q.url for k, q in resources.queues.items()} if resources else {},
                "buses": dict(resources.buses) if resources else {},
                "rules": [rule.rule_name for rule in resources.rules] if resources else [],
            },
            # Deliveries for accounts no workspace connected: for operators, never in the tenant API.
            "unrouted_for_operators": self._operator_unrouted() if self._restored else [],
        }

    def _operator_unrouted(self) -> list[dict[str, Any]]:
        from inbox_crm.ingest.unrouted import list_unrouted

        return [
            {
                "id": item.delivery_id,
                "reason": item.reason,
                "platform": item.platform,
                "account_id": item.account_id,
                "field": item.field,
                "received_at": item.received_at.isoformat(),
            }
            for item in list_unrouted(None, 50, None).items
        ]


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return repr(value)
