"""Issue 6: DynamoDB requests per send and per due-message pickup; pickup cost flat as the number
of scheduled messages grows (the due index is queried, never scanned)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bench.meter import measure

PAGE = "104000000000002"


def _seed_scheduled(
    count: int, conversation_pk: str, workspace_id: str, conversation_id: str, far: Any
) -> None:
    """Write `count` messages scheduled far in the future, exactly as compose() stores them."""
    from inbox_crm.core.ids import new_id
    from inbox_crm.core.timeutil import to_millis
    from inbox_crm.outbound.transitions import set_due
    from inbox_crm.store.models import Message

    with Message.batch_write() as batch:
        for _ in range(count):
            message_id = new_id("msg")
            message = Message(
                conversation_pk,
                Message.sk_for(to_millis(far), message_id),
                workspace_id=workspace_id,
                conversation_id=conversation_id,
                message_id=message_id,
                direction="outbound",
                kind="message",
                sent_at=far,
                text="later",
                status="scheduled",
                send_at=far,
            )
            set_due(message, far)
            batch.save(message)


def run() -> list[dict[str, Any]]:
    import os

    from inbox_crm.core.settings import get_settings
    from inbox_crm.core.timeutil import to_millis, utcnow
    from inbox_crm.ingest.pipeline import ingest
    from inbox_crm.meta.graph import GraphClient
    from inbox_crm.meta.policy import Sender
    from inbox_crm.meta.send import OutboundContent
    from inbox_crm.meta.units import InboundUnit, UnitKind
    from inbox_crm.outbound.compose import Author, SendSpec, compose
    from inbox_crm.outbound.schedule import send_due
    from inbox_crm.outbound.send import send_message
    from inbox_crm.store.models import Conversation
    from inbox_crm.workspaces import channels
    from inbox_local.graph_standin import GraphStandIn

    os.environ["LOCAL_PAGE_TOKENS"] = f"{PAGE}=bench-page-token"
    get_settings.cache_clear()
    stand_in = GraphStandIn(port=0).start()
    client = GraphClient(base_url=stand_in.url, version="v25.0")
    channels.register_channel("ws_bench", "messenger", PAGE, "Bench", "usr_b")
    unit = InboundUnit(
        kind=UnitKind.MESSAGE,
        platform="messenger",
        account_id=PAGE,
        customer_id="7100000000000001",
        timestamp_ms=to_millis(utcnow()),
        platform_message_id="m_bench_in",
        dedupe_key="m_bench_in",
        text="hola",
    )
    ingest(unit)
    [conversation] = [c for c in Conversation.scan() if isinstance(c, Conversation)]
    author = Author(Sender.HUMAN, "usr_b")

    def send_now() -> None:
        spec = SendSpec(content=OutboundContent(text="respuesta"))
        sent = send_message("ws_bench", conversation.conversation_id, spec, author, client=client).message
        assert sent.status == "sent", (sent.status, sent.error_code, sent.error_reason)

    results = [measure("send: agent reply (compose + deliver)", send_now, runs=20)]

    far = utcnow() + timedelta(days=30)
    seeded = 0
    pickup_rows = []
    for level in (1_000, 10_000, 100_000):
        _seed_scheduled(level - seeded, conversation.pk, "ws_bench", conversation.conversation_id, far)
        seeded = level

        def pickup_nothing_due() -> None:
            assert send_due(utcnow(), client=client)["due"] == 0

        row = measure("scheduler: due pickup (nothing due)", pickup_nothing_due, runs=5, scheduled=level)
        pickup_rows.append(row)
        results.append(row)

    def one_due() -> None:
        spec = SendSpec(content=OutboundContent(text="ya"), send_at=utcnow() + timedelta(seconds=1))
        compose("ws_bench", conversation.conversation_id, spec, author)
        assert send_due(utcnow() + timedelta(seconds=2), client=client)["sent"] == 1

    results.append(
        measure("scheduler: compose + pickup + send one due message", one_due, runs=10, scheduled=seeded)
    )
    small, large = pickup_rows[0], pickup_rows[-1]
    results.append(
        {
            "operation": "scheduler pickup cost ratio 100k/1k scheduled",
            "dynamodb_requests_ratio": round(large["dynamodb_requests"] / small["dynamodb_requests"], 2),
            "items_read_ratio": round((large["items_read"] + 1) / (small["items_read"] + 1), 2),
        }
    )
    stand_in.stop()
    return results
