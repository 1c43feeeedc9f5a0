"""Issue 4: contact search, exact lookups and create / associate at 1k, 10k and 50k (or 100k)
contacts in one workspace. What must hold: DynamoDB requests and items read per operation stay flat
as the workspace grows (the ratio rows compare the largest workspace with the 1k one).

The workspace is populated with exactly the items the domain writes for a contact (the contact,
its search entries, lookups and listings from contact_index.index_items, and the linked identity for
contacts with a channel), sent through BatchWriteItem like any client would. Conversations and
messages are not seeded: no contact operation reads other senders' conversations.

moto answers a base-table Query by walking every item of the table, which makes a 100k workspace
unusable: this suite hands it the queried partition instead (moto_partition_queries), which changes
no answer and no count.
Levels: BENCH_CONTACT_LEVELS=1000,10000,100000 (default 1000,10000,50000: see run()).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import boto3

from bench.meter import measure

WORKSPACE = "ws_bench"
OWNER = "usr_bench_owner"
PAGE = "100200300400"
DEFAULT_LEVELS = (1_000, 10_000, 50_000)
READ_RUNS = 10
WRITE_RUNS = 5
_BATCH = 25

FIRST = [
    "María", "José", "Juan", "Ana", "Luis", "Carmen", "Jorge", "Lucía", "Carlos", "Sofía", "Mario", "Marta",
    "Marcos", "Pedro", "Laura", "Diego", "Valeria", "Andrés", "Camila", "Fernando", "Gabriela", "Ricardo",
    "Isabel", "Javier", "Paula", "Miguel", "Elena", "Raúl", "Daniela", "Óscar", "Natalia", "Héctor",
    "Adriana", "Sergio", "Verónica", "Iván", "Patricia", "Tomás", "Rocío", "Emilio",
]  # fmt: skip
LAST = [
    "López", "García", "Martínez", "Hernández", "González", "Pérez", "Rodríguez", "Sánchez", "Ramírez",
    "Cruz", "Flores", "Gómez", "Morales", "Vázquez", "Reyes", "Jiménez", "Torres", "Díaz", "Gutiérrez",
    "Ruiz", "Mendoza", "Aguilar", "Ortiz", "Moreno", "Castillo", "Romero", "Álvarez", "Méndez", "Chávez",
    "Rivera", "Juárez", "Ramos", "Domínguez", "Herrera", "Medina", "Castro", "Vargas", "Guzmán", "Marín",
    "Núñez",
]  # fmt: skip


# ------------------------------------------------------------------ moto fast paths


@contextmanager
def moto_partition_queries() -> Iterator[None]:
    """A moto-only speedup, undone on exit, that changes no answer and no count: moto 5.2 answers a
    Query on the base table by walking every item of the table and keeping the queried partition's;
    here it is handed that partition's items only (what DynamoDB reads anyway). Transactions are
    already cheap under inbox_local.moto_patches (a backup of the touched items, not of the table)."""
    from moto.dynamodb.models.table import Table

    original_query = Table.query

    def partition_query(self: Table, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
        if kwargs.get("index_name") or hash_key is None:
            return original_query(self, hash_key, *args, **kwargs)
        partition = list(self.items.get(hash_key, {}).values())
        self.all_items = lambda: partition  # type: ignore[method-assign]
        try:
            return original_query(self, hash_key, *args, **kwargs)
        finally:
            del self.all_items

    Table.query = partition_query  # type: ignore[method-assign]
    try:
        yield
    finally:
        Table.query = original_query  # type: ignore[method-assign]


# ------------------------------------------------------------------ the seeded workspace


def _phone(n: int) -> str:
    return f"+5255{10_000_000 + n:08d}"


def _psid(n: int) -> str:
    return str(7_100_000_000_000_000 + n)


def seed_items(n: int, vip_tag: str) -> list[Any]:
    """Contact number n and everything the domain writes with it (contacts.create_contact, then for
    one in ten a Messenger sender linked by link_conversation, one in twenty an Instagram one)."""
    from inbox_crm.contacts.index import index_items
    from inbox_crm.contacts.values import fold
    from inbox_crm.core.ids import new_id
    from inbox_crm.core.timeutil import utcnow
    from inbox_crm.ingest.ids import identity_id_for
    from inbox_crm.store.models import Contact, Identity, IdentityRef

    now = utcnow()
    first, last = FIRST[n % len(FIRST)], LAST[(n // len(FIRST)) % len(LAST)]
    contact_id = new_id("ctc")
    has_phone, has_email = n % 5 != 4, n % 5 != 0  # most have both; one in five only one of them
    contact = Contact(
        *Contact.key(WORKSPACE, contact_id),
        workspace_id=WORKSPACE,
        contact_id=contact_id,
        first_name=first,
        last_name=last,
        emails=[f"{fold(first)}.{fold(last)}{n}@correo{n % 9}.mx"] if has_email else None,
        primary_phone=_phone(n) if has_phone else None,
        country="MX" if has_phone else None,
        tags=[vip_tag] if n % 20 == 3 else None,
        source="import",
        created_by=OWNER,
        created_at=now,
        updated_at=now,
        updated_by=OWNER,
        version=1,
    )
    identities: list[Identity] = []
    for platform, account, external, username in (
        ("messenger", PAGE, _psid(n), None) if n % 10 == 1 else (None, None, None, None),
        ("instagram", "17841400000000777", str(8_100_000_000_000_000 + n), f"{fold(first)}_{n}")
        if n % 20 == 7
        else (None, None, None, None),
    ):
        if platform is None or account is None or external is None:
            continue
        identity_id = identity_id_for(platform, account, external)
        identities.append(
            Identity(
                *Identity.key(WORKSPACE, identity_id),
                workspace_id=WORKSPACE,
                identity_id=identity_id,
                channel_id="chn_bench",
                platform=platform,
                account_id=account,
                external_id=external,
                username=username,
                display_name=f"{first} {last}",
                contact_id=contact_id,
                created_at=now,
            )
        )
    if identities:
        contact.identities = [
            IdentityRef(
                identity_id=identity.identity_id,
                platform=identity.platform,
                account_id=identity.account_id,
                external_id=identity.external_id,
                username=identity.username,
            )
            for identity in identities
        ]
    return [contact, *index_items(contact).values(), *identities]


def populate(start: int, stop: int, vip_tag: str) -> int:
    """Write contacts start..stop-1 with BatchWriteItem; returns the number of items written."""
    from inbox_crm.core.settings import get_settings

    client = boto3.client("dynamodb")
    table = get_settings().table_name
    pending: list[dict[str, Any]] = []
    written = 0

    def flush() -> None:
        nonlocal pending
        requests = {table: pending}
        while requests:
            response = client.batch_write_item(RequestItems=requests)
            requests = response.get("UnprocessedItems") or {}
        pending = []

    for n in range(start, stop):
        for item in seed_items(n, vip_tag):
            pending.append({"PutRequest": {"Item": item.serialize()}})
            written += 1
            if len(pending) == _BATCH:
                flush()
    if pending:
        flush()
    return written


# ------------------------------------------------------------------ operations


class _Api:
    def __init__(self) -> None:
        from api_handler import lambda_handler

        from inbox_local.apigw import lambda_context

        self.handler = lambda_handler
        self.context = lambda_context("ApiFunction")
        self.claims = {"sub": OWNER, "custom:workspace_id": WORKSPACE, "custom:role": "owner"}

    def call(self, method: str, path: str, body: Any = None, query: dict[str, str] | None = None) -> Any:
        import json

        from inbox_local.apigw import http_api_event

        headers = {"content-type": "application/json"} if body is not None else {}
        event = http_api_event(
            method,
            path,
            query=query,
            headers=headers,
            body=json.dumps(body) if body is not None else None,
            claims=self.claims,
        )
        reply = self.handler(event, self.context)
        assert reply["statusCode"] in (200, 201), (path, reply["body"][:300])
        return json.loads(reply["body"])


def _fresh_conversations(count: int, first_psid: int) -> list[str]:
    """New Messenger senders (not metered): each associate / create run links a new one."""
    from inbox_crm.ingest.ids import direct_conversation_id, identity_id_for
    from inbox_crm.ingest.pipeline import ingest
    from inbox_crm.meta.units import InboundUnit, UnitKind

    conversations = []
    for offset in range(count):
        psid = str(first_psid + offset)
        ingest(
            InboundUnit(
                kind=UnitKind.MESSAGE,
                platform="messenger",
                account_id=PAGE,
                customer_id=psid,
                timestamp_ms=1_790_000_000_000 + offset,
                platform_message_id=f"m_{psid}",
                dedupe_key=f"message:{PAGE}:m_{psid}",
                text="hola",
            )
        )
        conversations.append(direct_conversation_id(identity_id_for("messenger", PAGE, psid)))
    return conversations


class _Workspace:
    """The bench workspace's known members: a probe contact, the VIP tag, contacts to associate."""

    def __init__(self, vip_tag: str) -> None:
        self.vip_tag = vip_tag
        self.api = _Api()
        self.used: set[str] = set()

    def contacts_without_channels(self, count: int, level: int) -> list[str]:
        """Seeded contacts with a phone and no channel yet, each used once."""
        from inbox_crm.contacts import lookup

        ids: list[str] = []
        for n in range(100, level):
            if len(ids) == count:
                break
            if n % 5 == 4 or n % 10 == 1 or n % 20 == 7:
                continue  # no phone, or already on Messenger / Instagram
            found = lookup.contacts_by_phone(WORKSPACE, _phone(n))
            if found and found[0] not in self.used:
                self.used.add(found[0])
                ids.append(found[0])
        return ids

    def operations(self, level: int, probe: int = 42) -> list[dict[str, Any]]:
        from inbox_crm.contacts import lookup
        from inbox_crm.contacts.values import fold

        api = self.api
        first, last = FIRST[probe % len(FIRST)], LAST[(probe // len(FIRST)) % len(LAST)]
        email = f"{fold(first)}.{fold(last)}{probe}@correo{probe % 9}.mx"
        phone = _phone(probe)
        typed_phone = f"+52 (55) {phone[5:9]}-{phone[9:]}"
        [probe_id] = lookup.contacts_by_phone(WORKSPACE, phone)
        instagram_username = f"{fold(FIRST[7])}_7"
        context = {"contacts": level}

        def read(name: str, operation: Any) -> dict[str, Any]:
            return measure(name, operation, READ_RUNS, **context)

        results = [
            read(
                "contact search: name prefix 'mar' (page of 25)",
                lambda: api.call("GET", "/v1/contacts", query={"q": "mar"}),
            ),
            read(
                "contact search: phone as typed '+52 (55) xxxx-xxxx'",
                lambda: api.call("GET", "/v1/contacts", query={"q": typed_phone}),
            ),
            read(
                "contact search: email prefix",
                lambda: api.call("GET", "/v1/contacts", query={"q": email[:-4]}),
            ),
            read(
                "contact list: tag filter (page of 25)",
                lambda: api.call("GET", "/v1/contacts", query={"tag": self.vip_tag}),
            ),
            read("lookup by phone", lambda: lookup.contacts_by_phone(WORKSPACE, phone)),
            read("lookup by email", lambda: lookup.contacts_by_email(WORKSPACE, email)),
            read("lookup by Facebook ID", lambda: lookup.contacts_by_facebook_id(WORKSPACE, _psid(11))),
            read(
                "lookup by Instagram username",
                lambda: lookup.contacts_by_instagram_username(WORKSPACE, instagram_username),
            ),
            read("GET /v1/contacts/{id}", lambda: api.call("GET", f"/v1/contacts/{probe_id}")),
        ]
        counter = iter(range(10**6))

        def create() -> None:
            n = 80_000_000 + level + next(counter)  # beyond the seeded numbers
            body = {
                "first_name": "Nueva",
                "last_name": "Persona",
                "primary_phone": _phone(n),
                "emails": [f"n{n}@x.mx"],
            }
            api.call("POST", "/v1/contacts", body)

        results.append(measure("POST /v1/contacts (create)", create, WRITE_RUNS, **context))
        targets = iter(self.contacts_without_channels(WRITE_RUNS, level))
        to_associate = iter(_fresh_conversations(WRITE_RUNS, 7_900_000_000_000_000 + level))
        results.append(
            measure(
                "POST /v1/conversations/{id}/contact (associate)",
                lambda: api.call(
                    "POST", f"/v1/conversations/{next(to_associate)}/contact", {"contact_id": next(targets)}
                ),
                WRITE_RUNS,
                **context,
            )
        )
        to_register = iter(_fresh_conversations(WRITE_RUNS, 7_800_000_000_000_000 + level))
        new_contact = {"first_name": "Ana", "last_name": "Ruiz", "consent": {"given": True}}
        results.append(
            measure(
                "POST /v1/conversations/{id}/contact (create)",
                lambda: api.call(
                    "POST", f"/v1/conversations/{next(to_register)}/contact", {"contact": new_contact}
                ),
                WRITE_RUNS,
                **context,
            )
        )
        return results


def _levels() -> list[int]:
    raw = os.environ.get("BENCH_CONTACT_LEVELS")
    return sorted(int(level) for level in raw.split(",")) if raw else list(DEFAULT_LEVELS)


def _ratio_rows(results: list[dict[str, Any]], small: int, large: int) -> list[dict[str, Any]]:
    by_level = {
        (row["operation"], row["contacts"]): row for row in results if "runs" in row and "contacts" in row
    }
    rows = []
    for (operation, level), row in by_level.items():
        if level != small or (operation, large) not in by_level:
            continue
        big = by_level[(operation, large)]
        rows.append(
            {
                "operation": f"ratio {large // 1000}k/{small // 1000}k: {operation}",
                "dynamodb_requests_ratio": round(big["dynamodb_requests"] / row["dynamodb_requests"], 3),
                "items_read_ratio": round(big["items_read"] / row["items_read"], 3)
                if row["items_read"]
                else None,
                "items_written_ratio": round(big["items_written"] / row["items_written"], 3)
                if row["items_written"]
                else None,
            }
        )
    return rows


def seed_bench_workspace() -> str:
    """The bench workspace: its owner, a Messenger Page and a VIP tag (returned)."""
    from inbox_crm.contacts import tags
    from inbox_crm.store.models import User, Workspace
    from inbox_crm.workspaces import channels
    from inbox_crm.workspaces.routing import forget_routes

    Workspace(*Workspace.key(WORKSPACE), workspace_id=WORKSPACE, name="Bench").save()
    User(*User.key(WORKSPACE, OWNER), workspace_id=WORKSPACE, user_id=OWNER, email="o@x", role="owner").save()
    channels.register_channel(WORKSPACE, "messenger", PAGE, "Bench page", OWNER)
    forget_routes()
    return tags.create_tag(WORKSPACE, "VIP", None, OWNER).tag_id


def run() -> list[dict[str, Any]]:
    from inbox_crm.core.settings import get_settings

    levels = _levels()
    results: list[dict[str, Any]] = []
    with moto_partition_queries():
        workspace = _Workspace(seed_bench_workspace())
        table = get_settings().table_name
        dynamodb = boto3.client("dynamodb")
        results.append(
            measure(
                "put_item_reference",
                lambda: dynamodb.put_item(TableName=table, Item={"pk": {"S": "BENCH"}, "sk": {"S": "PUT"}}),
                50,
            )
        )
        seeded = 0
        for level in levels:
            started = time.perf_counter()
            items = populate(seeded, level, workspace.vip_tag)
            seconds = time.perf_counter() - started
            print(
                f"bench: s04 seeded {level - seeded} contacts ({items} items) in {seconds:.1f}s",
                file=sys.stderr,
            )
            results.append(
                {
                    "operation": "seed (BatchWriteItem through moto)",
                    "contacts": level,
                    "contacts_added": level - seeded,
                    "items_written": items,
                    "seconds": round(seconds, 1),
                    "items_per_contact": round(items / (level - seeded), 2),
                }
            )
            seeded = level
            results.extend(workspace.operations(level))
    results.extend(_ratio_rows(results, levels[0], levels[-1]))
    return results
