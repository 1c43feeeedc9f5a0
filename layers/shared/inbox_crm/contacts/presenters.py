"""How contacts look in API answers."""

from __future__ import annotations

from inbox_crm.contacts.index import channels_of
from inbox_crm.contacts.schemas import ConsentOut, ContactOut, IdentityOut
from inbox_crm.store.models import Contact


def contact_out(contact: Contact) -> ContactOut:
    refs = contact.identities or []
    return ContactOut(
        id=contact.contact_id,
        version=int(contact.version or 0),
        first_name=contact.first_name,
        last_name=contact.last_name,
        display_name=contact.display_name,
        profile_pic_url=contact.profile_pic_url,
        emails=list(contact.emails or []),
        primary_phone=contact.primary_phone,
        secondary_phones=list(contact.secondary_phones or []),
        whatsapp_phone=contact.whatsapp_phone,
        facebook_ids=[ref.external_id for ref in refs if ref.platform == "messenger"],
        instagram_usernames=[ref.username for ref in refs if ref.platform == "instagram" and ref.username],
        identities=[
            IdentityOut(
                id=ref.identity_id,
                channel=ref.platform,  # type: ignore[arg-type]
                account_id=ref.account_id,
                external_id=ref.external_id,
                username=ref.username,
                phone=ref.phone,
            )
            for ref in refs
        ],
        channels=channels_of(contact),  # type: ignore[arg-type]
        country=contact.country,
        country_manual=bool(contact.country_manual),
        language=contact.language,
        company=contact.company,
        assignee_id=contact.assignee_id,
        consent=ConsentOut.model_validate(contact.consent.as_dict()) if contact.consent else None,
        tags=list(contact.tags or []),
        source=contact.source,
        custom_fields=contact.custom_fields.as_dict() if contact.custom_fields else {},
        blocked=bool(contact.blocked),
        blocked_at=contact.blocked_at,
        created_by=contact.created_by,
        created_at=contact.created_at,
        updated_at=contact.updated_at,
    )
