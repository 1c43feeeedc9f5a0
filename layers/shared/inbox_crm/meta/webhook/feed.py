"""Page feed comments (``changes[].field == "feed"``): adds, edits and removals of comments."""

from __future__ import annotations

from typing import Any, Literal, cast

from inbox_crm.meta.units import InboundUnit, UnitAttachment, UnitComment, UnitKind
from inbox_crm.meta.webhook.common import (
    _canonical_json,
    _dict,
    _epoch_seconds_to_ms,
    _id,
    _int,
    _readable_key,
    _require_dict,
    _require_id,
    _sha256,
    _Source,
    _text,
    _Unusable,
)

_CommentVerb = Literal["add", "edited", "remove"]


_COMMENT_VERBS = frozenset({"add", "edited", "remove"})


def _feed_change(source: _Source, value: Any) -> list[InboundUnit]:
    value = _require_dict(value, "malformed:value")
    item = _text(value.get("item"))
    if item != "comment":
        # Reactions, posts, statuses, likes, shares… on the Page: acknowledged and ignored.
        raise _Unusable("ignored_feed_item")
    verb = _text(value.get("verb"))
    if verb not in _COMMENT_VERBS:
        raise _Unusable("unhandled_verb")
    comment_id = _require_id(value.get("comment_id"), "malformed:missing_comment_id")
    post_id = _require_id(value.get("post_id"), "malformed:missing_post_id")
    parent_id = _id(value.get("parent_id"))
    author = _dict(value.get("from"))
    author_id = _id(author.get("id"))  # may be missing (always on some removes)
    created = _epoch_seconds_to_ms(value.get("created_time"))
    comment = UnitComment(
        comment_id=comment_id,
        post_id=post_id,
        parent_id=parent_id,
        verb=cast(_CommentVerb, verb),
        is_reply=parent_id is not None and parent_id != post_id,
        from_page=author_id is not None and author_id == source.account_id,
        post_permalink=_text(_dict(value.get("post")).get("permalink_url")),
    )
    unit = InboundUnit(
        kind=UnitKind.COMMENT,
        platform=source.platform,
        account_id=source.account_id,
        entry_id=source.entry_id,
        customer_id=author_id,
        customer_name=_text(author.get("name")),
        timestamp_ms=created if created is not None else source.fallback_ms,
        platform_message_id=comment_id,
        dedupe_key=_comment_dedupe_key(source.account_id, comment_id, verb, value),
        text=_text(value.get("message")),
        attachments=_comment_media(value),
        comment=comment,
    )
    return [unit]


def _comment_dedupe_key(page_id: str, comment_id: str, verb: str, value: dict[str, Any]) -> str:
    """(comment_id, verb, created_time); an edit also keys on its text, in case Meta keeps the creation
    time on every ``edited`` event of a comment (two different edits must not look like one)."""
    created = _int(value.get("created_time"))
    parts = [page_id, comment_id, verb, str(created) if created is not None else "-"]
    if verb == "edited":
        parts.append(_sha256(_canonical_json(value.get("message")))[:16])
    return _readable_key("comment", *parts)


def _comment_media(value: dict[str, Any]) -> list[UnitAttachment]:
    attachments = []
    for key, kind in (("photo", "image"), ("video", "video")):
        media = value.get(key)
        url = _text(media) or _text(_dict(media).get("url")) or _text(_dict(media).get("src"))
        if url:
            attachments.append(UnitAttachment(type=kind, url=url))
    return attachments
