"""The one table (InboxTable in template.yaml): its keys, indexes and the item-type discriminator."""

from __future__ import annotations

from pynamodb.attributes import (
    DiscriminatorAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
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
