"""pynamodb models of the single table declared in template.yaml (InboxTable).

One module per aggregate (base: the table, its indexes and the discriminator; workspaces,
conversations, contacts, merges, broadcasts, flows, outbox). This package is the one place callers
import models from, and importing it (or any of its modules, which runs this file first) registers
every item type with the discriminator before any query may return one.

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
Flow                  WS#<ws>                             FLOW#<flow id>
FlowTrigger           WS#<ws>#FLOWTRIGGER#<event name>    FLOW#<flow id>   (enabled flows only)
FlowRun               WS#<ws>#FLOWRUN#<run id>            RUN   (gsi1: runs of a flow; gsi2: waits)
FlowRunStep           WS#<ws>#FLOWRUN#<run id>            STEP#<path>
FlowCounter           WS#<ws>#FLOWCOUNTER#<flow id>       <step path>   (round-robin)
====================  ==================================  =====================================

Identity ids and message ids are stable hashes of Meta's own ids, so the key of an incoming
sender or message is known before any read and uniqueness is enforced by conditional writes.
"""

from __future__ import annotations

from inbox_crm.store.models.base import (
    DueIndex,
    InboxIndex,
    InboxItem,
    ws_pk,
)
from inbox_crm.store.models.broadcasts import (
    Broadcast,
    BroadcastRecipient,
)
from inbox_crm.store.models.contacts import (
    Consent,
    Contact,
    ContactListing,
    ContactLookup,
    ContactSearchEntry,
    CustomField,
    Identity,
    IdentityConversation,
    IdentityRef,
    Tag,
)
from inbox_crm.store.models.conversations import (
    Attachment,
    Conversation,
    Message,
    MessagePointer,
    PrivateReply,
    SendRequest,
    Upload,
)
from inbox_crm.store.models.flows import (
    Flow,
    FlowCounter,
    FlowRun,
    FlowRunStep,
    FlowTrigger,
)
from inbox_crm.store.models.merges import (
    Merge,
    MergeDismissal,
    MergeSuggestion,
)
from inbox_crm.store.models.outbox import (
    OutboxEvent,
    UnroutedDelivery,
)
from inbox_crm.store.models.workspaces import (
    ChannelAccount,
    ChannelRoute,
    User,
    Workspace,
)

# Every item type of the table (creating it locally, checking it against template.yaml).
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
    Flow,
    FlowTrigger,
    FlowRun,
    FlowRunStep,
    FlowCounter,
)

__all__ = [
    "ALL_MODELS",
    "Attachment",
    "Broadcast",
    "BroadcastRecipient",
    "ChannelAccount",
    "ChannelRoute",
    "Consent",
    "Contact",
    "ContactListing",
    "ContactLookup",
    "ContactSearchEntry",
    "Conversation",
    "CustomField",
    "DueIndex",
    "Flow",
    "FlowCounter",
    "FlowRun",
    "FlowRunStep",
    "FlowTrigger",
    "Identity",
    "IdentityConversation",
    "IdentityRef",
    "InboxIndex",
    "InboxItem",
    "Merge",
    "MergeDismissal",
    "MergeSuggestion",
    "Message",
    "MessagePointer",
    "OutboxEvent",
    "PrivateReply",
    "SendRequest",
    "Tag",
    "UnroutedDelivery",
    "Upload",
    "User",
    "Workspace",
    "ws_pk",
]
