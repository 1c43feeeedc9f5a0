"""Issue 10: due sends dispatched as work items (scheduler -> work queue -> sender functions).

Throughput: how many due sends one sender process does per minute (Lambda runs many in parallel),
and the DynamoDB cost per send, flat as the number of messages waiting on the index grows from
1k to 100k.
"""

from __future__ import annotations

import gc
import time
from datetime import timedelta
from typing import Any

from bench.meter import metered

PAGE = "104000000000003"
DUE = 1_000  # sent at every level: at least this many per minute is the target
LEVELS = (1_000, 10_000, 100_000)


def run() -> list[dict[str, Any]]:
    import os

    from bench.suites.s06_sending import _seed_scheduled
    from inbox_crm.core.aws import client
    from inbox_crm.core.ids import new_id
    from inbox_crm.core.settings import get_settings
    from inbox_crm.core.timeutil import to_millis, utcnow
    from inbox_crm.ingest.pipeline import ingest
    from inbox_crm.meta.units import InboundUnit, UnitKind
    from inbox_crm.outbound.transitions import set_due
    from inbox_crm.store.models import Conversation, Message
    from inbox_crm.workspaces import channels
    from inbox_local.graph_standin import GraphStandIn
    from support.work import WorkQueue

    stand_in = GraphStandIn(port=0).start()
    queue = WorkQueue(client("sqs").create_queue(QueueName="bench-work")["QueueUrl"])
    os.environ.update(
        {
            "LOCAL_PAGE_TOKENS": f"{PAGE}=bench-page-token",
            "GRAPH_API_BASE_URL": stand_in.url,
            "WORK_QUEUE_URL": queue.queue_url,
        }
    )
    get_settings.cache_clear()
    channels.register_channel("ws_bench", "messenger", PAGE, "Bench", "usr_b")
    ingest(
        InboundUnit(
            kind=UnitKind.MESSAGE,
            platform="messenger",
            account_id=PAGE,
            customer_id="7100000000000002",
            timestamp_ms=to_millis(utcnow()),
            platform_message_id="m_bench_dispatch",
            dedupe_key="m_bench_dispatch",
            text="hola",
        )
    )
    [conversation] = [c for c in Conversation.scan() if isinstance(c, Conversation)]

    def seed_due(count: int) -> None:
        """`count` messages whose time has come, as compose() stores a scheduled send."""
        due = utcnow() - timedelta(seconds=1)
        with Message.batch_write() as batch:
            for _ in range(count):
                message_id = new_id("msg")
                message = Message(
                    conversation.pk,
                    Message.sk_for(to_millis(due), message_id),
                    workspace_id="ws_bench",
                    conversation_id=conversation.conversation_id,
                    message_id=message_id,
                    direction="outbound",
                    kind="message",
                    sent_at=due,
                    text="ya",
                    status="scheduled",
                    status_rank=0,
                    sender_kind="human",
                    sender_id="usr_b",
                    send_at=due,
                    send_attempts=0,
                    identity_id=conversation.identity_id,
                )
                set_due(message, due)
                batch.save(message)

    far = utcnow() + timedelta(days=30)
    results: list[dict[str, Any]] = []
    seeded = 0
    for level in LEVELS:
        _seed_scheduled(level - seeded, conversation.pk, "ws_bench", conversation.conversation_id, far)
        seeded = level
        seed_due(DUE)
        # The seeded table lives in this process only because moto does (in AWS it is not in the
        # sender's heap): kept out of the garbage collector's full walks, which grow with it.
        gc.collect()
        gc.freeze()
        before = len([r for r in stand_in.requests() if r["method"] == "POST"])
        with metered() as cost:
            started, cpu_started = time.perf_counter(), time.process_time()
            dispatched = queue.run_scheduler(timeout_seconds=60)
            scheduler_cpu = time.process_time() - cpu_started
            queue.drain(max_batches=DUE)
            elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        sent = len([r for r in stand_in.requests() if r["method"] == "POST"]) - before
        assert sent == DUE, (sent, dispatched)
        results.append(
            {
                "operation": "dispatch: scheduler + work queue + one sender process, due sends",
                "scheduled_waiting": level,
                "due": DUE,
                "sent": sent,
                "seconds": round(elapsed, 2),
                "sends_per_minute_one_sender": round(sent / elapsed * 60),
                # This process's CPU (sender, moto and the Graph stand-in alike): what one sender does
                # per minute of a core it has to itself, whatever else the machine is running.
                "cpu_seconds": round(cpu, 2),
                "sends_per_cpu_minute_one_sender": round(sent / cpu * 60),
                # Of which the scheduler's Queries: moto filters every item of the table for an index
                # Query (DynamoDB reads the due partition only), so this part grows with what waits.
                "scheduler_cpu_seconds": round(scheduler_cpu, 2),
                "dynamodb_requests_per_send": round(cost.requests / sent, 2),
                "items_read_per_send": round(cost.items_read / sent, 2),
                "items_written_per_send": round(cost.items_written / sent, 2),
                "requests_by_operation": cost.by_operation,
            }
        )
    small, large = results[0], results[-1]
    results.append(
        {
            "operation": "dispatch cost per send ratio 100k/1k waiting",
            "dynamodb_requests_ratio": round(
                large["dynamodb_requests_per_send"] / small["dynamodb_requests_per_send"], 2
            ),
            "items_read_ratio": round(large["items_read_per_send"] / small["items_read_per_send"], 2),
        }
    )
    stand_in.stop()
    gc.unfreeze()  # the next suites' garbage, this one's table included, is collected again
    return results
