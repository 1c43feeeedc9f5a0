"""Contacts, the identities linked to them, and the entries derived from a contact (search, lookups,
listings), tags and custom fields."""

from __future__ import annotations

from typing import Any

from pynamodb.attributes import (
    BooleanAttribute,
    ListAttribute,
    MapAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)

from inbox_crm.store.models.base import InboxItem, ws_pk


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
    # so a redelivery after a crash between the two finishes the link (ingest/identities.py).
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
