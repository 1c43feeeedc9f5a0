"""Meta webhook deliveries (Messenger, Instagram, WhatsApp Cloud API, Page feed) → inbound units.

``parse_delivery`` walks every ``entry[]``, then every ``messaging[]`` / ``standby[]`` / ``changes[]``
item and, for WhatsApp, every ``value.messages[]`` / ``value.statuses[]`` / ``value.errors[]``
element: one POST can mix Pages, phone numbers, messages and statuses, so nothing is ever read at
index 0 only. Each item becomes exactly one :class:`InboundUnit` (an entry or change that holds no
item becomes one too), and the function never raises: anything unexpected, malformed or not handled
yet becomes an ``UNUSABLE`` unit that names the object, field and reason for operators, because a
delivery refused for its shape is retried by Meta for days.

Dedupe keys are built from Meta's ids and values, never from the body's layout, so they are the same
for every redelivery whatever its key order or whitespace. Readable keys (``mid:<platform>:<account>:
<mid>``, ``wa:<phone_number_id>:<wamid>``…) are used while they are short and plain ASCII; longer
ones, and keys over composite values, are a SHA-256 prefix behind a readable kind prefix.

Text is copied exactly as sent (no Unicode normalisation); Meta's own dicts (referrals, contact
cards, error objects…) are copied as sent too. The one repair: a lone surrogate (an unpaired
``\\ud83d`` escape, which json.loads accepts) becomes U+FFFD, so every unit encodes to UTF-8.

The package: ``envelope`` walks objects and entries, ``messaging`` (Messenger and Instagram), ``feed``
(Page comments) and ``whatsapp`` parse their items, ``common`` holds what they share. Its modules share
their underscore helpers with each other; only the names below are for the rest of the code.
"""

from __future__ import annotations

from inbox_crm.meta.webhook.common import MAX_READABLE_KEY_LENGTH, UNKNOWN_TIME_MS
from inbox_crm.meta.webhook.envelope import parse_delivery, unreadable_delivery
from inbox_crm.meta.webhook.messaging import message_dedupe_key

__all__ = [
    "MAX_READABLE_KEY_LENGTH",
    "UNKNOWN_TIME_MS",
    "message_dedupe_key",
    "parse_delivery",
    "unreadable_delivery",
]
