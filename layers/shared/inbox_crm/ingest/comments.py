"""Page / Instagram comments: an add is a message; an edit or a removal changes the stored one."""

from __future__ import annotations

from inbox_crm.ingest.context import Context, IngestResult, set_or_remove, target
from inbox_crm.ingest.messages import store_message_like
from inbox_crm.store.maps import compact
from inbox_crm.store.models import Message


def apply_comment(context: Context) -> IngestResult:
    unit = context.unit
    assert unit.comment is not None
    if unit.comment.verb == "add":
        return store_message_like(context, kind="comment")
    _, message = target(context, unit.comment.comment_id)
    if message is None:
        if unit.comment.verb == "edited" and unit.customer_id:
            return store_message_like(context, kind="comment")  # we missed the add: keep what we have
        return IngestResult("ignored")
    if unit.comment.verb == "remove":
        if message.deleted:
            return IngestResult("duplicate")
        message.update(
            actions=[Message.deleted.set(True), Message.text.remove(), Message.attachments.remove()]
        )
        return IngestResult("updated")
    if message.text == unit.text:
        return IngestResult("duplicate")
    edits = [*(message.edits or []), compact({"previous_text": message.text, "at": unit.timestamp_ms})]
    message.update(actions=[set_or_remove(Message.text, unit.text), Message.edits.set(edits)])
    return IngestResult("updated")
