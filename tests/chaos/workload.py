"""The chaos workload: the product on the local stack with faults on, driven like Meta and an agent
would drive it, then counted against what was acknowledged (see README.md in this folder).

Nothing here trusts the product's own view: inbound messages are counted in the table against the
deliveries answered 200, events on the bus tap (/_local/events) against the records stored, sends in
the Graph stand-in's log (what Meta accepted, including answers it lost) against what was asked.
"""

from __future__ import annotations

import sys
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from e2e.local_stack_support import E2E_APP_SECRET, LocalStackClient, StackProcess, client_for, start_stack
from inbox_local import demo
from inbox_local.replay import post_webhook

PAGE = next(channel.account_id for channel in demo.CHANNELS if channel.platform == "messenger")
WORKSPACE = demo.DEMO_WORKSPACE_ID
APP_ID = "999999999999999"  # the local stack's META_APP_ID: echoes of our own sends carry it
PENDING_STATUSES = ("queued", "sending")  # stuck when still so at the end
# Still moving: an unknown outcome waits for Meta's confirmation (echo/status) or its window's end.
WAITING_STATUSES = (*PENDING_STATUSES, "scheduled", "unknown")
FIGURES = (
    "messages_lost",
    "messages_stored_twice",
    "events_missing",
    "sends_duplicated",
    "sends_never_made",
    "messages_stuck",
)


@dataclass
class ChaosConfig:
    rate: float = 0.1
    seed: int = 20261201
    new_senders: int = 500
    known_messages: int = 100  # second messages, from the first senders
    per_delivery: int = 10  # messaging events per webhook delivery, as Meta batches them
    replies: int = 100
    scheduled: int = 50
    broadcast: int = 500
    schedule_seconds: float = 2.0
    scheduled_delay_seconds: float = 20.0  # scheduled sends are due this long after they are asked
    contacts_wait_seconds: float = 720.0
    settle_seconds: float = 420.0
    quiet_seconds: float = 8.0
    client_attempts: int = 6
    budget_seconds: float = 1560.0  # the whole run, start to figures: settling gets what is left
    visibility_seconds: int = 10  # a failed batch is retried after this (the template says minutes)
    rule_retries: int = 5  # EventBridge retries for hours; locally 2 unless told
    unconfirmed_after_seconds: int = 60  # Meta's confirmation window for unknown outcomes (30 min in AWS)

    def faults(self) -> str:
        return ",".join(f"{name}={self.rate}" for name in ("dynamodb", "sqs", "events", "graph"))


def _progress(message: str, started: float) -> None:
    print(f"chaos {time.monotonic() - started:6.1f}s  {message}", file=sys.stderr, flush=True)


@dataclass
class Ledger:
    """What the product acknowledged, as the workload saw it."""

    run: str
    senders: list[str] = field(default_factory=list)
    acknowledged_mids: set[str] = field(default_factory=set)
    deliveries_refused: int = 0  # never answered 200 (Meta would keep retrying: not a loss)
    replies: dict[str, dict[str, Any]] = field(default_factory=dict)  # text -> {psid, message_id, status}
    replies_refused: int = 0
    tagged_contacts: set[str] = field(default_factory=set)
    broadcast_id: str | None = None
    broadcast_text: str = ""
    broadcast_refused: str | None = None
    welcome_text: str = ""
    echoed: set[int] = field(default_factory=set)
    graph_seen: int = 0  # the last Graph call looked at for echoes
    timings: dict[str, float] = field(default_factory=dict)


# ------------------------------------------------------------------------------------------ HTTP
class Api:
    """The owner's API client with an agent's retry habits: 5xx, 429 and network errors are retried
    with the same Idempotency-Key; a 4xx or 2xx is final."""

    def __init__(self, stack: LocalStackClient, attempts: int) -> None:
        self.stack = stack
        self.token = stack.token("owner")
        self.attempts = attempts
        self.session = requests.Session()

    def once(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **(kwargs.pop("headers", None) or {})}
        # Generous: the local API is one sandbox, and a client that gives up early only queues more.
        return self.session.request(method, f"{self.stack.url}{path}", headers=headers, timeout=60, **kwargs)

    def call(
        self, method: str, path: str, deadline: float | None = None, **kwargs: Any
    ) -> requests.Response | None:
        for attempt in range(self.attempts):
            if attempt and deadline is not None and time.monotonic() > deadline:
                return None
            if attempt:
                time.sleep(min(4.0, 0.25 * 2**attempt))
            try:
                reply = self.once(method, path, **kwargs)
            except requests.RequestException:
                continue
            if reply.status_code < 500 and reply.status_code != 429:
                return reply
        return None


def _deliver(stack: LocalStackClient, document: dict[str, Any], attempts: int = 8) -> bool:
    """Meta's delivery: retried until answered 200."""
    for attempt in range(attempts):
        if attempt:
            time.sleep(min(4.0, 0.25 * 2**attempt))
        try:
            status, _ = post_webhook(document, f"{stack.url}/webhooks/meta", E2E_APP_SECRET, timeout=15)
        except OSError:
            continue
        if status == 200:
            return True
    return False


def _messaging(sender: str, mid: str, text: str) -> dict[str, Any]:
    return {
        "sender": {"id": sender},
        "recipient": {"id": PAGE},
        "timestamp": int(time.time() * 1000),
        "message": {"mid": mid, "text": text},
    }


def _page_delivery(messaging: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "object": "page",
        "entry": [{"id": PAGE, "time": int(time.time() * 1000), "messaging": messaging}],
    }


# ------------------------------------------------------------------------------------- reading
def _scan(stack: LocalStackClient, **filters: Any) -> list[dict[str, Any]]:
    dynamodb = stack.aws("dynamodb")
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName="inbox", **filters):
        items.extend(page["Items"])
    return items


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    from boto3.dynamodb.types import TypeDeserializer

    deserializer = TypeDeserializer()
    return {name: deserializer.deserialize(value) for name, value in item.items()}


def _graph_requests(stack: LocalStackClient, after: int = 0) -> list[dict[str, Any]]:
    """The stand-in's log of Graph calls numbered above ``after``."""
    reply = requests.get(f"{stack.graph_url}/_control/requests", params={"after": after}, timeout=30)
    return [entry for entry in reply.json()["requests"] if entry["id"] > after]


def _accepted_sends(requests_log: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Message sends Meta accepted (answered or not): the customer got these."""
    return [
        entry
        for entry in requests_log
        if entry["method"] == "POST"
        and entry["path"].endswith("/messages")
        and entry["status"] == 200
        and isinstance(entry.get("body"), dict)
        and isinstance(entry["body"].get("message"), dict)
    ]


def _send_key(entry: dict[str, Any]) -> tuple[str, str]:
    body = entry["body"]
    recipient = body.get("recipient") or {}
    return str(recipient.get("id") if isinstance(recipient, dict) else recipient), str(
        body["message"].get("text")
    )


def _bus_events(stack: LocalStackClient, detail_type: str | None = None) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = 0
    kind = f"&detail_type={detail_type}" if detail_type else ""
    while True:
        page = stack.call("GET", f"/_local/events?after={after}&limit=5000{kind}").json()
        events.extend(page["events"])
        if not page["events"] or page["events"][-1]["seq"] >= page["last"]:
            return events
        after = page["events"][-1]["seq"]


def _queue_depths(stack: LocalStackClient) -> dict[str, int]:
    """Messages in each work queue (visible, in flight or delayed); dead-letter queues left out."""
    sqs = stack.aws("sqs")
    depths = {}
    for url in sqs.list_queues().get("QueueUrls", []):
        name = url.rsplit("/", 1)[-1]
        if "dead-letter" in name or "dlq" in name:
            continue
        attributes = sqs.get_queue_attributes(
            QueueUrl=url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        depth = sum(int(value) for value in attributes.values())
        if depth:
            depths[name] = depth
    return depths


def _queues_busy(stack: LocalStackClient) -> int:
    return sum(_queue_depths(stack).values())


# ------------------------------------------------------------------------------------- phases
def _setup(api: Api, ledger: Ledger) -> str:
    """Faults paused: the flow and the tag exist once (their creation is not what is under test)."""
    ledger.welcome_text = f"Bienvenida chaos-welcome {ledger.run}"
    flow = api.once(
        "POST",
        "/v1/flows",
        json={
            "name": f"Chaos {ledger.run}",
            "trigger": {"type": "conversation_opened", "channel": "messenger"},
            "steps": [{"type": "create_contact"}, {"type": "send_message", "text": ledger.welcome_text}],
        },
    )
    assert flow.status_code == 201, flow.text
    enabled = api.once("POST", f"/v1/flows/{flow.json()['id']}/enable")
    assert enabled.status_code == 200, enabled.text
    tag = api.once("POST", "/v1/tags", json={"name": f"chaos {ledger.run}"})
    assert tag.status_code == 201, tag.text
    return str(tag.json()["id"])


def _inbound(stack: LocalStackClient, config: ChaosConfig, ledger: Ledger) -> None:
    ledger.senders = [f"88{n:010d}{ledger.run[:2]}" for n in range(config.new_senders)]
    units = [(sender, f"m_chaos_{ledger.run}_{n}_0", f"hola {n}") for n, sender in enumerate(ledger.senders)]
    # Known senders: a second message from the first ones, after their first went out.
    units += [
        (ledger.senders[n], f"m_chaos_{ledger.run}_{n}_1", f"otra vez {n}")
        for n in range(min(config.known_messages, config.new_senders))
    ]
    batches = [
        units[start : start + config.per_delivery] for start in range(0, len(units), config.per_delivery)
    ]

    def deliver(batch: list[tuple[str, str, str]]) -> tuple[list[str], bool]:
        document = _page_delivery([_messaging(sender, mid, text) for sender, mid, text in batch])
        return [mid for _, mid, _ in batch], _deliver(stack, document)

    with ThreadPoolExecutor(4) as pool:
        for mids, ok in pool.map(deliver, batches):
            if ok:
                ledger.acknowledged_mids.update(mids)
            else:
                ledger.deliveries_refused += 1


def _identities(stack: LocalStackClient, ledger: Ledger) -> dict[str, dict[str, Any]]:
    """Our senders' identities by PSID."""
    items = _scan(
        stack,
        FilterExpression="sk = :sk AND account_id = :page",
        ExpressionAttributeValues={":sk": {"S": "IDENTITY"}, ":page": {"S": PAGE}},
    )
    wanted = set(ledger.senders)
    return {item["external_id"]: item for item in map(_plain, items) if item.get("external_id") in wanted}


def _conversation_of(sender: str) -> str:
    from inbox_crm.ingest.ids import direct_conversation_id, identity_id_for

    return direct_conversation_id(identity_id_for("messenger", PAGE, sender))


def _wait_for_contacts(stack: LocalStackClient, config: ChaosConfig, deadline: float) -> list[str]:
    """Contacts the welcome flow created (ContactCreated on the bus: this stack has no others), once
    there are enough for the broadcast or their number stops moving."""
    deadline = min(deadline, time.monotonic() + config.contacts_wait_seconds)
    contacts: list[str] = []
    stable_since, last = time.monotonic(), -1
    while time.monotonic() < deadline:
        events = _bus_events(stack, "ContactCreated")
        contacts = sorted({str(event["detail"]["contact_id"]) for event in events if event.get("detail")})
        if len(contacts) >= config.broadcast:
            break
        if len(contacts) != last:
            stable_since, last = time.monotonic(), len(contacts)
        elif time.monotonic() - stable_since > 20:
            break  # nothing moves: the rest never will (lost events): go on and count
        time.sleep(2)
    return contacts


def _wait_for_conversations(stack: LocalStackClient, senders: list[str], seconds: float = 30) -> None:
    """An agent answers conversations it can see: wait until they were opened (ConversationOpened on
    the bus), or a while if some never announce themselves."""
    wanted = {_conversation_of(sender) for sender in senders}
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        opened = {
            str(event["detail"].get("conversation_id")) for event in _bus_events(stack, "ConversationOpened")
        }
        if wanted <= opened:
            return
        time.sleep(1)


def _replies(api: Api, config: ChaosConfig, ledger: Ledger, deadline: float) -> None:
    _wait_for_conversations(api.stack, ledger.senders[: config.replies + config.scheduled])
    now = datetime.now(UTC)
    jobs: list[tuple[str, str, dict[str, Any]]] = []
    for n, sender in enumerate(ledger.senders[: config.replies]):
        jobs.append((sender, f"chaos-reply-{ledger.run}-{n}", {}))
    for n, sender in enumerate(ledger.senders[config.replies : config.replies + config.scheduled]):
        send_at = (now + timedelta(seconds=config.scheduled_delay_seconds + n % 10)).isoformat()
        jobs.append((sender, f"chaos-scheduled-{ledger.run}-{n}", {"send_at": send_at}))

    def send(job: tuple[str, str, dict[str, Any]]) -> None:
        sender, text, extra = job
        kind = "scheduled" if "send_at" in extra else "reply"
        record: dict[str, Any] = {"psid": sender, "kind": kind, "message_id": None, "status": None}
        ledger.replies[text] = record
        if time.monotonic() > deadline:
            record["status"] = "not asked (out of time)"  # reported; not expected to be sent
            return
        reply = api.call(
            "POST",
            f"/v1/conversations/{_conversation_of(sender)}/messages",
            json={"text": text, **extra},
            headers={"Idempotency-Key": text},
            deadline=deadline,
        )
        if reply is None:
            ledger.replies_refused += 1
            record["status"] = "refused"
            return
        record["http"] = reply.status_code
        if reply.status_code < 300:
            body = reply.json()
            record.update(message_id=body.get("id") or body.get("message_id"), status=body.get("status"))
        else:
            record["status"] = f"http {reply.status_code}"

    with ThreadPoolExecutor(2) as pool:  # two agents at work
        list(pool.map(send, jobs))


def _broadcast(api: Api, config: ChaosConfig, ledger: Ledger, tag_id: str, contacts: list[str]) -> None:
    chosen = contacts[: config.broadcast]
    for start in range(0, len(chosen), 100):
        chunk = chosen[start : start + 100]
        reply = api.call("POST", f"/v1/tags/{tag_id}/contacts", json={"contact_ids": chunk, "action": "add"})
        if reply is not None and reply.status_code == 200:
            ledger.tagged_contacts.update(
                result["contact_id"] for result in reply.json()["results"] if result["status"] != "not_found"
            )
    ledger.broadcast_text = f"chaos-broadcast {ledger.run}"
    name = f"Chaos {ledger.run}"
    body = {"name": name, "tag_id": tag_id, "channel": "messenger", "text": ledger.broadcast_text}
    for _ in range(config.client_attempts):
        reply = api.call("POST", "/v1/broadcasts", json=body)
        if reply is not None and reply.status_code == 201:
            ledger.broadcast_id = reply.json()["id"]
            return
        if reply is not None and reply.status_code < 500:
            ledger.broadcast_refused = f"{reply.status_code} {reply.text[:200]}"
            return
        # A careful client looks before creating again: the first attempt may have been stored.
        listing = api.call("GET", "/v1/broadcasts")
        if listing is not None and listing.status_code == 200:
            found = [item for item in listing.json()["items"] if item["name"] == name]
            if found:
                ledger.broadcast_id = found[0]["id"]
                return


def _echo(stack: LocalStackClient, ledger: Ledger) -> None:
    """Meta echoes every message a Page sent (message_echoes): deliver those not echoed yet."""
    requests_log = _graph_requests(stack, ledger.graph_seen)
    if requests_log:
        ledger.graph_seen = requests_log[-1]["id"]
    for entry in _accepted_sends(requests_log):
        if entry["id"] in ledger.echoed:
            continue
        body, response = entry["body"], entry.get("response") or {}
        psid, text = _send_key(entry)
        message: dict[str, Any] = {
            "is_echo": True,
            "app_id": int(APP_ID),
            "mid": response.get("message_id") or f"m_echo_{entry['id']}",
            "text": text,
        }
        metadata = body["message"].get("metadata") or body.get("metadata")
        if metadata:
            message["metadata"] = metadata
        echo = {
            "sender": {"id": PAGE},
            "recipient": {"id": psid},
            "timestamp": int(time.time() * 1000),
            "message": message,
        }
        if _deliver(stack, _page_delivery([echo]), attempts=3):
            ledger.echoed.add(entry["id"])


def _outbound(stack: LocalStackClient, conversations: set[str]) -> list[dict[str, Any]]:
    items = _scan(
        stack,
        FilterExpression="direction = :out AND begins_with(sk, :msg)",
        ExpressionAttributeValues={":out": {"S": "outbound"}, ":msg": {"S": "MSG#"}},
    )
    return [item for item in map(_plain, items) if item.get("conversation_id") in conversations]


def _settle(
    stack: LocalStackClient,
    api: Api,
    config: ChaosConfig,
    ledger: Ledger,
    conversations: set[str],
    deadline: float,
) -> bool:
    """Faults off: echoes delivered, queues drained, schedules ticking, until nothing moves. The
    cheap signals (queues, Graph calls, the broadcast) first; the table is read once they are quiet."""
    deadline = min(deadline, time.monotonic() + config.settle_seconds)
    quiet_since: float | None = None
    while time.monotonic() < deadline:
        seen_before = ledger.graph_seen
        _echo(stack, ledger)
        busy = bool(_queues_busy(stack)) or ledger.graph_seen != seen_before
        if not busy and ledger.broadcast_id:
            reply = api.call("GET", f"/v1/broadcasts/{ledger.broadcast_id}")
            busy = reply is None or reply.json().get("status") in ("scheduled", "running")
        if busy:
            quiet_since = None
        elif quiet_since is None:
            quiet_since = time.monotonic()
        elif time.monotonic() - quiet_since >= config.quiet_seconds:
            outbound = _outbound(stack, conversations)
            if not any(item.get("status") in WAITING_STATUSES for item in outbound):
                return True
            quiet_since = None
        time.sleep(2)
    return False


# -------------------------------------------------------------------------------------- counting
def _past_due(send_at: Any, now: datetime) -> bool:
    """pynamodb's UTCDateTimeAttribute text; unreadable or missing counts as due."""
    try:
        return datetime.strptime(str(send_at), "%Y-%m-%dT%H:%M:%S.%f%z") < now
    except ValueError:
        return True


def _count(stack: LocalStackClient, api: Api, ledger: Ledger, settled: bool) -> dict[str, Any]:
    stored_messages = list(
        map(
            _plain,
            _scan(
                stack,
                FilterExpression="begins_with(platform_message_id, :run) AND begins_with(sk, :msg)",
                ExpressionAttributeValues={":run": {"S": f"m_chaos_{ledger.run}_"}, ":msg": {"S": "MSG#"}},
            ),
        )
    )
    per_mid = Counter(item["platform_message_id"] for item in stored_messages)
    messages_lost = sorted(ledger.acknowledged_mids - set(per_mid))
    stored_twice = sorted(mid for mid, count in per_mid.items() if count > 1)

    identities = _identities(stack, ledger)
    conversations = {
        identity["conversation_id"] for identity in identities.values() if identity.get("conversation_id")
    }
    contacts = {identity["contact_id"] for identity in identities.values() if identity.get("contact_id")}
    events = _bus_events(stack)
    seen: dict[str, set[str]] = defaultdict(set)
    for event in events:
        detail = event.get("detail") or {}
        if isinstance(detail, dict):
            for key in ("message_id", "identity_id", "conversation_id", "contact_id"):
                if detail.get(key):
                    seen[f"{event['detail_type']}.{key}"].add(str(detail[key]))
    expected_events = {
        "MessageReceived": ("message_id", {item["message_id"] for item in stored_messages}),
        "IdentityCreated": ("identity_id", {identity["identity_id"] for identity in identities.values()}),
        "ConversationOpened": ("conversation_id", conversations),
        "ContactCreated": ("contact_id", contacts),
    }
    events_missing = {
        name: sorted(ids - seen[f"{name}.{key}"]) for name, (key, ids) in expected_events.items()
    }

    accepted = Counter(_send_key(entry) for entry in _accepted_sends(_graph_requests(stack)))
    outbound = _outbound(stack, conversations)
    outbound_by_text: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for item in outbound:
        outbound_by_text[(item["conversation_id"], str(item.get("text")))].append(item)

    psid_by_conversation = {identity["conversation_id"]: psid for psid, identity in identities.items()}
    psid_by_contact = {
        identity["contact_id"]: psid for psid, identity in identities.items() if identity.get("contact_id")
    }
    duplicated: Counter[str] = Counter()
    never_made: dict[str, list[str]] = defaultdict(list)
    failed: Counter[str] = Counter()

    def check(kind: str, psid: str, text: str, conversation_id: str | None, required: bool) -> None:
        made = accepted[(psid, text)]
        if made > 1:
            duplicated[kind] += made - 1
        if made:
            return
        records = outbound_by_text.get((conversation_id or "", text), [])
        if any(record.get("status") == "failed" and record.get("error_reason") for record in records):
            failed[kind] += 1  # ended failed with a reason: allowed, reported
        elif required:
            never_made[kind].append(text if kind != "welcome" else psid)

    for text, record in ledger.replies.items():
        accepted_by_api = str(record.get("http", "")).startswith("2")
        conversation = identities.get(record["psid"], {}).get("conversation_id")
        check(record["kind"], record["psid"], text, conversation, accepted_by_api)
    for conversation_id in conversations:
        psid = psid_by_conversation[conversation_id]
        check("welcome", psid, ledger.welcome_text, conversation_id, True)
    broadcast_recipients: dict[str, dict[str, Any]] = {}
    if ledger.broadcast_id:
        reply = api.call("GET", f"/v1/broadcasts/{ledger.broadcast_id}/recipients?limit=1000")
        if reply is not None and reply.status_code == 200:
            broadcast_recipients = {item["contact_id"]: item for item in reply.json()["items"]}
    for contact_id in ledger.tagged_contacts:
        psid = psid_by_contact.get(contact_id)
        if psid is None:
            continue
        recipient = broadcast_recipients.get(contact_id, {})
        made = accepted[(psid, ledger.broadcast_text)]
        if made > 1:
            duplicated["broadcast"] += made - 1
        elif made == 0:
            if recipient.get("status") in ("failed", "skipped") and recipient.get("reason"):
                failed["broadcast"] += 1
            elif ledger.broadcast_id:
                never_made["broadcast"].append(contact_id)

    statuses = Counter(str(item.get("status")) for item in outbound)
    backlog = _queue_depths(stack)  # still queued when counted (not settled: work unfinished, not lost)
    now = datetime.now(UTC)
    stuck = [
        item["message_id"]
        for item in outbound
        if item.get("status") in PENDING_STATUSES
        or (item.get("status") == "scheduled" and _past_due(item.get("send_at"), now))
    ]
    status = api.stack.status()
    figures = {
        "messages_lost": len(messages_lost),
        "messages_stored_twice": len(stored_twice),
        "events_missing": sum(len(ids) for ids in events_missing.values()),
        "sends_duplicated": sum(duplicated.values()),
        "sends_never_made": sum(len(items) for items in never_made.values()),
        "messages_stuck": len(stuck),
    }
    return {
        "figures": figures,
        "all_zero": not any(figures.values()),
        "settled": settled,
        "details": {
            "events_missing": {name: len(ids) for name, ids in events_missing.items()},
            "sends_duplicated": dict(duplicated),
            "sends_never_made": {kind: len(items) for kind, items in never_made.items()},
            "ended_failed_with_reason": dict(failed),
            "outbound_statuses": dict(statuses),
            "dead_letters": len(status.get("dead_letters", [])),
            "queued_when_counted": backlog,
            "examples": {
                "messages_lost": messages_lost[:5],
                "messages_stored_twice": stored_twice[:5],
                "events_missing": {name: ids[:3] for name, ids in events_missing.items() if ids},
                "sends_never_made": {kind: items[:3] for kind, items in never_made.items()},
                "messages_stuck": stuck[:5],
            },
        },
        "workload": {
            "inbound_acknowledged": len(ledger.acknowledged_mids),
            "inbound_stored": len(per_mid),
            "deliveries_refused": ledger.deliveries_refused,
            "identities": len(identities),
            "conversations": len(conversations),
            "contacts": len(contacts),
            "replies_accepted": sum(
                1
                for r in ledger.replies.values()
                if r["kind"] == "reply" and str(r.get("http", "")).startswith("2")
            ),
            "scheduled_accepted": sum(
                1
                for r in ledger.replies.values()
                if r["kind"] == "scheduled" and str(r.get("http", "")).startswith("2")
            ),
            "api_refused_after_retries": ledger.replies_refused,
            "sends_not_asked_out_of_time": sum(
                1 for r in ledger.replies.values() if str(r.get("status")).startswith("not asked")
            ),
            "broadcast_id": ledger.broadcast_id,
            "broadcast_tagged": len(ledger.tagged_contacts),
            "broadcast_refused": ledger.broadcast_refused,
            "graph_sends_accepted": sum(accepted.values()),
            "echoes_delivered": len(ledger.echoed),
            "bus_events": len(events),
        },
        "faults": status.get("faults"),
    }


# ------------------------------------------------------------------------------------------ run
def run(config: ChaosConfig, data_dir: Path) -> dict[str, Any]:
    ledger = Ledger(run=uuid.uuid4().hex[:8])
    started = time.monotonic()
    stack_process: StackProcess = start_stack(
        data_dir,
        LOCAL_FAULTS=config.faults(),
        LOCAL_FAULTS_SEED=str(config.seed),
        LOCAL_SCHEDULE_SECONDS=str(config.schedule_seconds),
        LOCAL_LOG_LEVEL="WARNING",
        LOCAL_SQS_MAX_VISIBILITY_SECONDS=str(config.visibility_seconds),
        UNCONFIRMED_AFTER_SECONDS=str(config.unconfirmed_after_seconds),
        LOCAL_RULE_MAX_RETRIES=str(config.rule_retries),
    )
    try:
        stack = client_for(stack_process)
        api = Api(stack, config.client_attempts)
        stack.call("DELETE", "/_local/faults")
        tag_id = _setup(api, ledger)
        stack.call(
            "POST", "/_local/faults", json=dict.fromkeys(("dynamodb", "sqs", "events", "graph"), config.rate)
        )

        mark = time.monotonic()
        _inbound(stack, config, ledger)
        ledger.timings["inbound"] = time.monotonic() - mark
        _progress(f"{len(ledger.acknowledged_mids)} inbound messages acknowledged", started)

        # An agent answers while the flow registers the senders; the broadcast goes to those it has.
        mark = time.monotonic()
        with ThreadPoolExecutor(2) as pool:
            replies = pool.submit(
                _replies,
                Api(stack, config.client_attempts),
                config,
                ledger,
                started + config.budget_seconds * 0.6,
            )
            contacts = _wait_for_contacts(stack, config, started + config.budget_seconds / 2)
            ledger.timings["contacts"] = time.monotonic() - mark
            _progress(f"{len(contacts)} contacts created by the flow", started)
            _broadcast(api, config, ledger, tag_id, contacts)
            _progress(
                f"broadcast {ledger.broadcast_id} to {len(ledger.tagged_contacts)} tagged contacts", started
            )
            replies.result()
        ledger.timings["sends"] = time.monotonic() - mark
        _progress(f"{len(ledger.replies)} replies and scheduled sends asked; faults off, settling", started)

        stack.call("DELETE", "/_local/faults")
        mark = time.monotonic()
        conversations = {_conversation_of(sender) for sender in ledger.senders}
        settled = _settle(stack, api, config, ledger, conversations, started + config.budget_seconds - 20)
        ledger.timings["settle"] = time.monotonic() - mark
        _progress("settled" if settled else "not settled within the budget: counting anyway", started)
        report = _count(stack, api, ledger, settled)
    finally:
        stack_process.stop()
    report["config"] = asdict(config)
    report["seconds"] = {
        **{k: round(v, 1) for k, v in ledger.timings.items()},
        "total": round(time.monotonic() - started, 1),
    }
    return report
