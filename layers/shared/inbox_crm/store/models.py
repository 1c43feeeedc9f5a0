"""pynamodb models of the single table declared in template.yaml (InboxTable).

Every item's key starts with its workspace (``WS#<id>``) except the global channel routes
(``ROUTE#<platform>#<account id>``) and the operator log of unroutable deliveries, so no query of
one workspace can reach another's items. Key layout, per item type:

====================  ==================================  =====================================
item                  pk                                  sk
====================  ==================================  =====================================
Workspace             WS#<ws>                             WORKSPACE
User                  WS#<ws>                             USER#<user id>
ChannelAccount        WS#<ws>                             CHANNEL#<channel id>
ChannelRoute          ROUTE#<platform>#<account id>       ROUTE
Identity              WS#<ws>#IDENTITY#<identity id>      IDENTITY
IdentityConversation  WS#<ws>#IDENTITY#<identity id>      CONV#<opened ms>#<conversation id>
Conversation          WS#<ws>#CONV#<conversation id>      CONVERSATION   (gsi1: the inbox)
Message               WS#<ws>#CONV#<conversation id>      MSG#<platform ms>#<message id>
MessagePointer        WS#<ws>#MID#<message id>            MID
Contact               WS#<ws>#CONTACT#<contact id>        CONTACT
ContactSearchEntry    WS#<ws>#SEARCH#<token[:2]>          <token>#<contact id>
ContactLookup         WS#<ws>#LOOKUP#<kind>#<value>       CONTACT#<contact id>
ContactListing        WS#<ws>#CLIST#<listing>             CONTACT#<contact id>
Tag                   WS#<ws>                             TAG#<tag id>
CustomField           WS#<ws>                             FIELD#<field key>
Merge                 WS#<ws>#MERGES                      MERGE#<merge id>
MergeSuggestion       WS#<ws>#MSUGS                       <suggestion id>
  (per contact copy)  WS#<ws>#CONTACT#<contact id>        MSUG#<suggestion id>
MergeDismissal        WS#<ws>#MSUG_DISMISSED#<sugg. id>   DISMISSED
UnroutedDelivery      UNROUTED                            <received ms>#<id>
OutboxEvent           WS#<ws>#OUTBOX#<event id>           OUTBOX
====================  ==================================  =====================================

Identity ids and message ids are stable hashes of Meta's own ids, so the key of an incoming
sender or message is known before any read and uniqueness is enforced by conditional writes.
"""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    DiscriminatorAttribute,
    ListAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from inbox_crm.core.settings import get_settings

_settings = get_settings()


def ws_pk(workspace_id: str) -> str:
    return f"WS#{workspace_id}"


class InboxIndex(GlobalSecondaryIndex["InboxItem"]):
    """gsi1: conversations of a workspace by status, newest activity first."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class DueIndex(GlobalSecondaryIndex["InboxItem"]):
    """gsi2: what is due, by shard and due time (scheduled sends, flow waits, broadcast batches).

    Sparse: only items waiting for a time carry the keys; the scheduler queries each shard for
    ``gsi2sk <= now`` and claims items with a conditional write, so its cost follows what is due,
    not how much is scheduled.
    """

    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class InboxItem(Model):
    class Meta:
        table_name = _settings.table_name
        region = _settings.region

    pk = UnicodeAttribute(hash_key=True)
    sk = UnicodeAttribute(range_key=True)
    item_type = DiscriminatorAttribute(attr_name="type")
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    expires_at = TTLAttribute(null=True)
    created_at = UTCDateTimeAttribute(null=True)

    inbox_index = InboxIndex()
    due_index = DueIndex()


class Workspace(InboxItem, discriminator="Workspace"):
    workspace_id = UnicodeAttribute()
    name = UnicodeAttribute()
    # Region used to read national phone numbers ("55 1234 5678" in MX) and to format them.
    default_region = UnicodeAttribute(default="MX")
    language = UnicodeAttribute(default="es")
    timezone = UnicodeAttribute(default="America/Mexico_City")

    @staticmethod
    def key(workspace_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), "WORKSPACE"


class User(InboxItem, discriminator="User"):
    workspace_id = UnicodeAttribute()
    user_id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute(null=True)
    role = UnicodeAttribute()  # owner | manager | agent
    # active | disabled | removed: only active members may call the API (workspaces/principal.py).
    status = UnicodeAttribute(default="active")

    @staticmethod
    def key(workspace_id: str, user_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), f"USER#{user_id}"


class ChannelAccount(InboxItem, discriminator="ChannelAccount"):
    workspace_id = UnicodeAttribute()
    channel_id = UnicodeAttribute()
    platform = UnicodeAttribute()  # messenger | instagram | whatsapp
    account_id = UnicodeAttribute()  # Page id | IG account id | WhatsApp phone_number_id
    name = UnicodeAttribute()
    status = UnicodeAttribute(default="active")  # active | removed
    created_by = UnicodeAttribute(null=True)
    removed_at = UTCDateTimeAttribute(null=True)
    removed_by = UnicodeAttribute(null=True)
    last_webhook_at = UTCDateTimeAttribute(null=True)

    @staticmethod
    def key(workspace_id: str, channel_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), f"CHANNEL#{channel_id}"


class ChannelRoute(InboxItem, discriminator="ChannelRoute"):
    """Global: which workspace and channel a Meta account id belongs to (one owner per account)."""

    platform = UnicodeAttribute()
    account_id = UnicodeAttribute()
    workspace_id = UnicodeAttribute()
    channel_id = UnicodeAttribute()

    @staticmethod
    def key(platform: str, account_id: str) -> tuple[str, str]:
        return f"ROUTE#{platform}#{account_id}", "ROUTE"


class Identity(InboxItem, discriminator="Identity"):
    """One sender on one channel account: Page+PSID, IG account+IGSID, phone_number_id+wa_id/BSUID."""

    workspace_id = UnicodeAttribute()
    identity_id = UnicodeAttribute()
    channel_id = UnicodeAttribute()
    platform = UnicodeAttribute()
    account_id = UnicodeAttribute()
    external_id = UnicodeAttribute()
    bsuid = UnicodeAttribute(null=True)
    username = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)  # E.164 (WhatsApp)
    display_name = UnicodeAttribute(null=True)
    first_name = UnicodeAttribute(null=True)
    last_name = UnicodeAttribute(null=True)
    profile_pic_url = UnicodeAttribute(null=True)
    profile_status = UnicodeAttribute(null=True)  # fetched | unavailable | failed
    updated_at_profile = UTCDateTimeAttribute(null=True)
    contact_id = UnicodeAttribute(null=True)
    # A first WhatsApp message matched this contact: written with the message, dropped by the link,
    # so a redelivery after a crash between the two finishes the link (ingest/pipeline.py).
    auto_link_to = UnicodeAttribute(null=True)
    blocked = BooleanAttribute(default=False)  # its contact is blocked: store, hide, never automate
    # The direct conversation. Fixed at creation; a WhatsApp number change hands it to the new identity.
    conversation_id = UnicodeAttribute(null=True)
    moved_to = UnicodeAttribute(null=True)  # identity id after a WhatsApp number change
    moved_from = UnicodeAttribute(null=True)

    @staticmethod
    def pk_for(workspace_id: str, identity_id: str) -> str:
        return f"{ws_pk(workspace_id)}#IDENTITY#{identity_id}"

    @classmethod
    def key(cls, workspace_id: str, identity_id: str) -> tuple[str, str]:
        return cls.pk_for(workspace_id, identity_id), "IDENTITY"


class IdentityConversation(InboxItem, discriminator="IdentityConversation"):
    identity_id = UnicodeAttribute()
    conversation_id = UnicodeAttribute()


class Conversation(InboxItem, discriminator="Conversation"):
    workspace_id = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    channel_id = UnicodeAttribute()
    platform = UnicodeAttribute()
    kind = UnicodeAttribute(default="direct")  # direct | comment
    identity_id = UnicodeAttribute()
    contact_id = UnicodeAttribute(null=True)
    status = UnicodeAttribute(default="open")  # open | closed
    assignee_id = UnicodeAttribute(null=True)
    post_id = UnicodeAttribute(null=True)
    display_name = UnicodeAttribute(null=True)
    handle = UnicodeAttribute(null=True)
    last_activity_at = UTCDateTimeAttribute()
    last_inbound_at = UTCDateTimeAttribute(null=True)  # the 24-hour window clock
    last_preview = UnicodeAttribute(null=True)
    last_message_at = UTCDateTimeAttribute(null=True)  # platform time of the newest message
    unread_count = NumberAttribute(default=0)
    delivered_watermark = NumberAttribute(default=0)  # ms: outbound at or before it is delivered
    read_watermark = NumberAttribute(default=0)
    hidden = BooleanAttribute(default=False)  # blocked contact: stored, not shown
    # No VersionAttribute: messages land concurrently and their counters commute; writers put
    # conditions on exactly the fields they change (see ingest/pipeline.py).

    @staticmethod
    def pk_for(workspace_id: str, conversation_id: str) -> str:
        return f"{ws_pk(workspace_id)}#CONV#{conversation_id}"

    @classmethod
    def key(cls, workspace_id: str, conversation_id: str) -> tuple[str, str]:
        return cls.pk_for(workspace_id, conversation_id), "CONVERSATION"

    @staticmethod
    def inbox_pk(workspace_id: str, status: str) -> str:
        return f"{ws_pk(workspace_id)}#INBOX#{status}"


class Attachment(MapAttribute[str, Any]):
    type = UnicodeAttribute()
    url = UnicodeAttribute(null=True)
    media_id = UnicodeAttribute(null=True)
    mime_type = UnicodeAttribute(null=True)
    title = UnicodeAttribute(null=True)
    caption = UnicodeAttribute(null=True)
    filename = UnicodeAttribute(null=True)
    sticker_id = UnicodeAttribute(null=True)
    sha256 = UnicodeAttribute(null=True)
    voice = BooleanAttribute(null=True)
    storage_key = UnicodeAttribute(null=True)  # our copy in the media bucket
    size = NumberAttribute(null=True)
    payload = MapAttribute[str, Any](null=True)


class Message(InboxItem, discriminator="Message"):
    workspace_id = UnicodeAttribute()
    conversation_id = UnicodeAttribute()
    message_id = UnicodeAttribute()
    platform_message_id = UnicodeAttribute(null=True)
    direction = UnicodeAttribute()  # inbound | outbound
    kind = UnicodeAttribute()  # text | media | postback | referral | comment | reaction | system | ...
    origin = UnicodeAttribute(null=True)  # user | app | meta_inbox | agent | flow
    sent_at = UTCDateTimeAttribute()  # the platform's timestamp
    text = UnicodeAttribute(null=True)
    attachments = ListAttribute(of=Attachment, null=True)
    data = MapAttribute[str, Any](null=True)  # kind-specific: payload, referral, location, contacts…
    reply_to = UnicodeAttribute(null=True)
    reactions = MapAttribute[str, Any](null=True)
    edits: ListAttribute[Any] = ListAttribute(null=True)
    deleted = BooleanAttribute(default=False)
    standby = BooleanAttribute(default=False)
    truncated = BooleanAttribute(null=True)  # too large as sent: stored cut to fit (meta/units.py)
    # outbound: scheduled | queued | sending | unknown | sent | delivered | read | failed | cancelled
    # (docs/ARCHITECTURE.md "Sending: every send ends in a known state")
    status = UnicodeAttribute(null=True)
    status_rank = NumberAttribute(null=True)  # statuses only move forward; failed is terminal
    status_history: ListAttribute[Any] = ListAttribute(null=True)  # [{status, at}] as Meta reported them
    error_code = UnicodeAttribute(null=True)
    error_reason = UnicodeAttribute(null=True)
    # Outbound messages composed in the product (agents, flows, broadcasts):
    sender_kind = UnicodeAttribute(null=True)  # human | automation
    sender_id = UnicodeAttribute(null=True)  # user id, or flow id
    content = MapAttribute[str, Any](null=True)  # what to send: buttons, quick replies, template…
    send_at = UTCDateTimeAttribute(null=True)  # scheduled: due time (gsi2 while waiting)
    send_attempts = NumberAttribute(null=True)
    # A claim (status sending) is held by one worker until lease_until; post_started_at is written
    # just before the first POST, so an expired claim without it is re-sent and one with it is unknown.
    claim_id = UnicodeAttribute(null=True)
    lease_until = UTCDateTimeAttribute(null=True)
    post_started_at = UTCDateTimeAttribute(null=True)
    platform_message_ids: ListAttribute[Any] = ListAttribute(null=True)  # one per Graph call
    caused_by_flow = UnicodeAttribute(null=True)

    @staticmethod
    def sk_for(sent_at_ms: int, message_id: str) -> str:
        return f"MSG#{sent_at_ms:013d}#{message_id}"


class SendRequest(InboxItem, discriminator="SendRequest"):
    """An idempotency key of a send: the same key always answers with the same message (24 h)."""

    conversation_id = UnicodeAttribute()
    message_id = UnicodeAttribute()
    message_sk = UnicodeAttribute()
    body_hash = UnicodeAttribute(null=True)  # the same key with another request is refused

    @staticmethod
    def key(workspace_id: str, idempotency_key: str) -> tuple[str, str]:
        return f"{ws_pk(workspace_id)}#SEND#{idempotency_key}", "SEND"


class PrivateReply(InboxItem, discriminator="PrivateReply"):
    """Meta allows one private reply per comment: this marker is written before it is sent."""

    comment_id = UnicodeAttribute()
    message_id = UnicodeAttribute()

    @staticmethod
    def key(workspace_id: str, comment_id: str) -> tuple[str, str]:
        return f"{ws_pk(workspace_id)}#PRIVATE_REPLY#{comment_id}", "PRIVATE_REPLY"


class MessagePointer(InboxItem, discriminator="MessagePointer"):
    """Meta's message id -> our message. Written in the same transaction as the message."""

    message_id = UnicodeAttribute()
    conversation_id = UnicodeAttribute(null=True)
    message_sk = UnicodeAttribute(null=True)
    # stored | deleted (the unsend arrived before the message) | status_first (a WhatsApp status
    # arrived before our send recorded the wamid: applied when it does)
    state = UnicodeAttribute(default="stored")
    early_status = MapAttribute[str, Any](null=True)

    @staticmethod
    def key(workspace_id: str, message_id: str) -> tuple[str, str]:
        return f"{ws_pk(workspace_id)}#MID#{message_id}", "MID"


class Consent(MapAttribute[str, Any]):
    """Whether the person agreed to us storing their personal data, and who recorded it when."""

    given = BooleanAttribute()
    recorded_by = UnicodeAttribute(null=True)
    recorded_at = UTCDateTimeAttribute(null=True)


class IdentityRef(MapAttribute[str, Any]):
    """A contact's copy of one linked identity: enough to show and index it without reading it."""

    identity_id = UnicodeAttribute()
    platform = UnicodeAttribute()
    account_id = UnicodeAttribute()
    external_id = UnicodeAttribute()  # PSID | IGSID | wa_id
    username = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)


class Contact(InboxItem, discriminator="Contact"):
    """A person in the CRM. Its search, lookup and listing entries (below) are derived from it and
    written in the same transaction as every change (contacts/index.py)."""

    workspace_id = UnicodeAttribute()
    contact_id = UnicodeAttribute()
    first_name = UnicodeAttribute(null=True)
    last_name = UnicodeAttribute(null=True)
    display_name = UnicodeAttribute(null=True)  # from the channel
    profile_pic_url = UnicodeAttribute(null=True)  # from the channel
    emails: ListAttribute[str] = ListAttribute(null=True)  # lowercased
    primary_phone = UnicodeAttribute(null=True)  # E.164
    secondary_phones: ListAttribute[str] = ListAttribute(null=True)
    whatsapp_phone = UnicodeAttribute(null=True)
    country = UnicodeAttribute(null=True)  # ISO 3166 alpha-2
    country_manual = BooleanAttribute(default=False)  # set by a person: no longer derived from the phone
    language = UnicodeAttribute(null=True)
    company = UnicodeAttribute(null=True)
    assignee_id = UnicodeAttribute(null=True)
    consent = Consent(null=True)
    tags: ListAttribute[str] = ListAttribute(null=True)  # tag ids
    source = UnicodeAttribute(null=True)
    custom_fields = MapAttribute[str, Any](null=True)  # custom field key -> value
    identities: ListAttribute[IdentityRef] = ListAttribute(of=IdentityRef, null=True)
    blocked = BooleanAttribute(default=False)
    blocked_at = UTCDateTimeAttribute(null=True)
    blocked_by = UnicodeAttribute(null=True)
    deleted = BooleanAttribute(default=False)  # soft delete: the item stays as the audit record
    deleted_at = UTCDateTimeAttribute(null=True)
    deleted_by = UnicodeAttribute(null=True)
    # Soft merge (identity/merge.py): absorbed into this contact; kept, without index entries, for undo.
    merged_into = UnicodeAttribute(null=True)
    merge_id = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)
    version = VersionAttribute()

    @staticmethod
    def key(workspace_id: str, contact_id: str) -> tuple[str, str]:
        return f"{ws_pk(workspace_id)}#CONTACT#{contact_id}", "CONTACT"


class UnroutedDelivery(InboxItem, discriminator="UnroutedDelivery"):
    """A validly signed delivery we could not use: kept 30 days for operators, without content."""

    delivery_id = UnicodeAttribute()
    reason = UnicodeAttribute()
    object_type = UnicodeAttribute(null=True)
    platform = UnicodeAttribute(null=True)
    account_id = UnicodeAttribute(null=True)
    field = UnicodeAttribute(null=True)
    received_at = UTCDateTimeAttribute()


class ContactSearchEntry(InboxItem, discriminator="ContactSearchEntry"):
    """One search token of a contact, bucketed by its first two characters; ``terms`` holds all the
    contact's tokens so a search can drop duplicate hits and match further words without a read."""

    contact_id = UnicodeAttribute()
    token = UnicodeAttribute()
    terms: ListAttribute[str] = ListAttribute()

    @staticmethod
    def partition(workspace_id: str, token: str) -> str:
        return f"{ws_pk(workspace_id)}#SEARCH#{token[:2]}"

    @classmethod
    def key(cls, workspace_id: str, token: str, contact_id: str) -> tuple[str, str]:
        return cls.partition(workspace_id, token), f"{token}#{contact_id}"


class ContactLookup(InboxItem, discriminator="ContactLookup"):
    """An exact identifier (phone, email, Facebook ID, Instagram username, ID field) of a contact.
    Several contacts may share a phone or an email: one item per contact under the value."""

    contact_id = UnicodeAttribute()
    kind = UnicodeAttribute()
    value = UnicodeAttribute()
    fields: ListAttribute[str] = ListAttribute(null=True)  # phone fields: primary | secondary | whatsapp

    @staticmethod
    def partition(workspace_id: str, kind: str, value: str) -> str:
        return f"{ws_pk(workspace_id)}#LOOKUP#{kind}#{value}"

    @classmethod
    def key(cls, workspace_id: str, kind: str, value: str, contact_id: str) -> tuple[str, str]:
        return cls.partition(workspace_id, kind, value), f"CONTACT#{contact_id}"


class ContactListing(InboxItem, discriminator="ContactListing"):
    """Membership of a contact in a listing: all, blocked, channel:<kind|any|none>, tag:<tag id>."""

    contact_id = UnicodeAttribute()

    @staticmethod
    def partition(workspace_id: str, listing: str) -> str:
        return f"{ws_pk(workspace_id)}#CLIST#{listing}"

    @classmethod
    def key(cls, workspace_id: str, listing: str, contact_id: str) -> tuple[str, str]:
        return cls.partition(workspace_id, listing), f"CONTACT#{contact_id}"


class Tag(InboxItem, discriminator="Tag"):
    workspace_id = UnicodeAttribute()
    tag_id = UnicodeAttribute()  # stable hash of the folded name: one tag per name
    name = UnicodeAttribute()
    color = UnicodeAttribute(null=True)
    created_by = UnicodeAttribute(null=True)

    @staticmethod
    def key(workspace_id: str, tag_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), f"TAG#{tag_id}"


class CustomField(InboxItem, discriminator="CustomField"):
    """A workspace-defined contact field; contacts keep its values under ``custom_fields[key]``."""

    workspace_id = UnicodeAttribute()
    field_key = UnicodeAttribute()
    label = UnicodeAttribute()
    field_type = UnicodeAttribute()  # text | number | date | boolean | single_select | id
    options: ListAttribute[str] = ListAttribute(null=True)  # single_select
    created_by = UnicodeAttribute(null=True)

    @staticmethod
    def key(workspace_id: str, field_key: str) -> tuple[str, str]:
        return ws_pk(workspace_id), f"FIELD#{field_key}"


class Broadcast(InboxItem, discriminator="Broadcast"):
    """A message to every contact with a tag; listed per workspace, due on gsi2 while it runs."""

    workspace_id = UnicodeAttribute()
    broadcast_id = UnicodeAttribute()
    name = UnicodeAttribute()
    tag_id = UnicodeAttribute()
    channel = UnicodeAttribute()  # whatsapp | messenger | instagram
    content = MapAttribute[str, Any]()
    status = UnicodeAttribute()  # scheduled | running | done | cancelled
    created_by = UnicodeAttribute()
    send_at = UTCDateTimeAttribute()
    started_at = UTCDateTimeAttribute(null=True)
    finished_at = UTCDateTimeAttribute(null=True)
    cursor = UnicodeAttribute(null=True)  # where the tag listing resumes
    sent = NumberAttribute(default=0)
    failed = NumberAttribute(default=0)
    skipped = NumberAttribute(default=0)

    @staticmethod
    def key(workspace_id: str, broadcast_id: str) -> tuple[str, str]:
        return f"{ws_pk(workspace_id)}#BROADCASTS", f"BROADCAST#{broadcast_id}"

    @staticmethod
    def recipients_pk(workspace_id: str, broadcast_id: str) -> str:
        return f"{ws_pk(workspace_id)}#BROADCAST#{broadcast_id}"


class BroadcastRecipient(InboxItem, discriminator="BroadcastRecipient"):
    contact_id = UnicodeAttribute()
    status = UnicodeAttribute()  # sending | sent | failed | skipped
    reason = UnicodeAttribute(null=True)
    conversation_id = UnicodeAttribute(null=True)
    message_id = UnicodeAttribute(null=True)


class Merge(InboxItem, discriminator="Merge"):
    """One merge of two contacts and its journal (identity/merge.py): the history item and what undo
    needs. pk ``WS#<ws>#MERGES``, sk ``MERGE#<merge id>`` (time-ordered: one Query is the history)."""

    workspace_id = UnicodeAttribute()
    merge_id = UnicodeAttribute()
    survivor_id = UnicodeAttribute()
    absorbed_id = UnicodeAttribute()
    status = UnicodeAttribute()  # moving | done | undone
    by = UnicodeAttribute()
    suggestion_id = UnicodeAttribute(null=True)
    fields = MapAttribute[str, Any](null=True)  # the per-field choices sent
    survivor_before = UnicodeAttribute()  # JSON of the contact item before the merge
    absorbed_before = UnicodeAttribute()
    survivor_after = UnicodeAttribute()  # JSON of the survivor the merge wrote
    survivor_version = NumberAttribute()  # versions the merge wrote
    absorbed_version = NumberAttribute()
    identity_ids: ListAttribute[str] = ListAttribute(null=True)  # moved to the survivor
    conversation_ids: ListAttribute[str] = ListAttribute(null=True)  # their conversations then
    undone_at = UTCDateTimeAttribute(null=True)
    undone_by = UnicodeAttribute(null=True)

    @staticmethod
    def partition(workspace_id: str) -> str:
        return f"{ws_pk(workspace_id)}#MERGES"

    @classmethod
    def key(cls, workspace_id: str, merge_id: str) -> tuple[str, str]:
        return cls.partition(workspace_id), f"MERGE#{merge_id}"


class MergeSuggestion(InboxItem, discriminator="MergeSuggestion"):
    """A possible duplicate (identity/suggestions.py). The same item is written three times: under
    ``WS#<ws>#MSUGS`` / ``<suggestion id>`` (the workspace listing, and the canonical copy) and in each
    involved contact's partition ``WS#<ws>#CONTACT#<id>`` / ``MSUG#<suggestion id>``."""

    workspace_id = UnicodeAttribute()
    suggestion_id = UnicodeAttribute()
    kind = UnicodeAttribute()  # shared_value | conversation_hint
    contact_ids: ListAttribute[str] = (
        ListAttribute()
    )  # the pair (a hint: the identity's contact, if any, + target)
    shared: ListAttribute[Any] = ListAttribute()  # [{kind, value, fields?, message_id?}]
    identity_id = UnicodeAttribute(null=True)  # hints: the conversation's sender
    conversation_id = UnicodeAttribute(null=True)
    target_contact_id = UnicodeAttribute(null=True)  # hints: the contact owning the value
    action = UnicodeAttribute(null=True)  # hints: associate | merge
    updated_at = UTCDateTimeAttribute(null=True)

    @staticmethod
    def workspace_partition(workspace_id: str) -> str:
        return f"{ws_pk(workspace_id)}#MSUGS"

    @classmethod
    def listing_key(cls, workspace_id: str, suggestion_id: str) -> tuple[str, str]:
        return cls.workspace_partition(workspace_id), suggestion_id

    @staticmethod
    def contact_key(workspace_id: str, contact_id: str, suggestion_id: str) -> tuple[str, str]:
        return f"{ws_pk(workspace_id)}#CONTACT#{contact_id}", f"MSUG#{suggestion_id}"


class MergeDismissal(InboxItem, discriminator="MergeDismissal"):
    """A dismissed suggestion: the pair (or hint) is never suggested again."""

    suggestion_id = UnicodeAttribute()
    by = UnicodeAttribute()

    @staticmethod
    def key(workspace_id: str, suggestion_id: str) -> tuple[str, str]:
        return f"{ws_pk(workspace_id)}#MSUG_DISMISSED#{suggestion_id}", "DISMISSED"


class Upload(InboxItem, discriminator="Upload"):
    """An agent's file, kept in the media bucket to be attached to messages."""

    upload_id = UnicodeAttribute()
    storage_key = UnicodeAttribute()
    filename = UnicodeAttribute()
    content_type = UnicodeAttribute()
    size = NumberAttribute()
    uploaded_by = UnicodeAttribute()

    @staticmethod
    def key(workspace_id: str, upload_id: str) -> tuple[str, str]:
        return f"{ws_pk(workspace_id)}#UPLOAD#{upload_id}", "UPLOAD"


class OutboxEvent(InboxItem, discriminator="OutboxEvent"):
    """A domain event, written in the same transaction as the change that implies it (events/outbox.py).

    The table's stream carries new outbox items to the relay (functions/outbox_relay), which puts them
    on the bus. The key is the event id, so a retried write rewrites the same item; one partition per
    event spreads a burst over the table instead of heating one workspace partition. TTL: two days.
    """

    workspace_id = UnicodeAttribute()
    event_id = UnicodeAttribute()
    detail_type = UnicodeAttribute()
    detail = UnicodeAttribute()  # JSON, exactly what the bus receives

    @staticmethod
    def key(workspace_id: str, event_id: str) -> tuple[str, str]:
        return f"{ws_pk(workspace_id)}#OUTBOX#{event_id}", "OUTBOX"


ALL_MODELS: tuple[type[InboxItem], ...] = (
    OutboxEvent,
    Upload,
    Broadcast,
    BroadcastRecipient,
    SendRequest,
    PrivateReply,
    Workspace,
    User,
    ChannelAccount,
    ChannelRoute,
    Identity,
    IdentityConversation,
    Conversation,
    Message,
    MessagePointer,
    Contact,
    UnroutedDelivery,
    ContactSearchEntry,
    ContactLookup,
    ContactListing,
    Tag,
    CustomField,
    Merge,
    MergeSuggestion,
    MergeDismissal,
)


# ------------------------------------------------------------------ automation flows (issue 5)
#
# Flow            WS#<ws>                              FLOW#<flow id>
# FlowTrigger     WS#<ws>#FLOWTRIGGER#<event name>     FLOW#<flow id>      (enabled flows only)
# FlowRun         WS#<ws>#FLOWRUN#<run id>             RUN                 (gsi1: runs of a flow by start;
#                                                                           gsi2: waiting runs by due time)
# FlowRunStep     WS#<ws>#FLOWRUN#<run id>             STEP#<path>
# FlowCounter     WS#<ws>#FLOWCOUNTER#<flow id>        <step path>         (round-robin)


class Flow(InboxItem, discriminator="Flow"):
    """An automation: trigger, conditions and steps (``definition``, JSON), state and version."""

    workspace_id = UnicodeAttribute()
    flow_id = UnicodeAttribute()
    name = UnicodeAttribute()
    state = UnicodeAttribute(default="draft")  # draft | active | disabled
    flow_version = NumberAttribute(default=1)  # every edit increments it; runs record it
    trigger_event = UnicodeAttribute()  # the domain event its trigger listens to
    definition = UnicodeAttribute()  # JSON: {trigger, conditions, match, steps}
    template_key = UnicodeAttribute(null=True)
    error_count = NumberAttribute(default=0)
    run_count = NumberAttribute(default=0)
    last_error = UnicodeAttribute(null=True)
    last_error_at = UTCDateTimeAttribute(null=True)
    created_by = UnicodeAttribute(null=True)
    updated_at = UTCDateTimeAttribute(null=True)
    updated_by = UnicodeAttribute(null=True)

    @staticmethod
    def key(workspace_id: str, flow_id: str) -> tuple[str, str]:
        return ws_pk(workspace_id), f"FLOW#{flow_id}"


class FlowTrigger(InboxItem, discriminator="FlowTrigger"):
    """An enabled flow under the event its trigger listens to: the engine finds every candidate flow
    of an event with one Query, and carries the definition, so no further read is needed."""

    flow_id = UnicodeAttribute()
    flow_version = NumberAttribute()
    definition = UnicodeAttribute()

    @staticmethod
    def partition(workspace_id: str, event_name: str) -> str:
        return f"{ws_pk(workspace_id)}#FLOWTRIGGER#{event_name}"

    @classmethod
    def key(cls, workspace_id: str, event_name: str, flow_id: str) -> tuple[str, str]:
        return cls.partition(workspace_id, event_name), f"FLOW#{flow_id}"


class FlowRun(InboxItem, discriminator="FlowRun"):
    """One run of a flow, at the version it started with (``definition`` is that version's)."""

    workspace_id = UnicodeAttribute()
    run_id = UnicodeAttribute()  # stable: hash of the flow id and the trigger event id
    flow_id = UnicodeAttribute()
    flow_version = NumberAttribute()
    definition = UnicodeAttribute()
    trigger_event_id = UnicodeAttribute()
    trigger_event_name = UnicodeAttribute()
    trigger = MapAttribute[str, Any](null=True)  # the trigger event's data (small fields)
    correlation_id = UnicodeAttribute(null=True)
    conversation_id = UnicodeAttribute(null=True)
    contact_id = UnicodeAttribute(null=True)
    state = UnicodeAttribute(default="running")  # running | waiting | completed | failed | stopped
    current_path = UnicodeAttribute(null=True)
    started_at = UTCDateTimeAttribute()
    finished_at = UTCDateTimeAttribute(null=True)
    error = UnicodeAttribute(null=True)
    failed_path = UnicodeAttribute(null=True)
    resume_at = UTCDateTimeAttribute(null=True)
    # A due wait is resumed under a claim held until lease_until; the run stays on the due index
    # (gsi2, due at the lease's expiry) until the resume has gone on, so a dead resumer is retried.
    claim_id = UnicodeAttribute(null=True)
    lease_until = UTCDateTimeAttribute(null=True)

    @staticmethod
    def pk_for(workspace_id: str, run_id: str) -> str:
        return f"{ws_pk(workspace_id)}#FLOWRUN#{run_id}"

    @classmethod
    def key(cls, workspace_id: str, run_id: str) -> tuple[str, str]:
        return cls.pk_for(workspace_id, run_id), "RUN"

    @staticmethod
    def listing_pk(workspace_id: str, flow_id: str) -> str:
        return f"{ws_pk(workspace_id)}#FLOWRUNS#{flow_id}"


class FlowRunStep(InboxItem, discriminator="FlowRunStep"):
    """One step of a run: its state moves pending/running -> done | failed | skipped, conditionally."""

    run_id = UnicodeAttribute()
    path = UnicodeAttribute()
    step_type = UnicodeAttribute()
    state = UnicodeAttribute()  # running | waiting | done | failed | skipped
    input = MapAttribute[str, Any](null=True)
    result = MapAttribute[str, Any](null=True)
    error = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    memo = MapAttribute[str, Any](null=True)  # choices made once (round-robin pick)
    started_at = UTCDateTimeAttribute()
    finished_at = UTCDateTimeAttribute(null=True)

    @classmethod
    def key(cls, workspace_id: str, run_id: str, path: str) -> tuple[str, str]:
        return FlowRun.pk_for(workspace_id, run_id), f"STEP#{path}"


class FlowCounter(InboxItem, discriminator="FlowCounter"):
    """The round-robin position of an assign step, incremented atomically."""

    value = NumberAttribute(default=0)

    @staticmethod
    def key(workspace_id: str, flow_id: str, path: str) -> tuple[str, str]:
        return f"{ws_pk(workspace_id)}#FLOWCOUNTER#{flow_id}", path


ALL_MODELS = (*ALL_MODELS, Flow, FlowTrigger, FlowRun, FlowRunStep, FlowCounter)
