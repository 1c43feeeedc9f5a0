"""fit_unit: an oversized unit is cut to fit, ids untouched, content kept as a prefix (issue 10)."""

from __future__ import annotations

import json

from hypothesis import example, given, settings
from hypothesis import strategies as st

from inbox_crm.ingest.queue import to_message
from inbox_crm.meta.units import MAX_UNIT_BYTES, InboundUnit, UnitKind, fit_unit


def _message(**fields: object) -> InboundUnit:
    values: dict = {
        "kind": UnitKind.MESSAGE,
        "platform": "whatsapp",
        "account_id": "100000000000555",
        "customer_id": "5215512345678",
        "timestamp_ms": 1_790_000_000_000,
        "platform_message_id": "wamid.HBgN",
        "dedupe_key": "wamid:100000000000555:wamid.HBgN",
        **fields,
    }
    return InboundUnit.model_validate(values)


def _size(unit: InboundUnit) -> int:
    dumped = unit.model_dump(mode="json", exclude_defaults=True)
    return len(json.dumps(dumped, ensure_ascii=False, separators=(",", ":")).encode())  # as queued


def test_a_unit_that_fits_is_returned_as_is() -> None:
    unit = _message(text="Hola", interactive={"type": "button_reply", "button_reply": {"id": "b1"}})
    assert fit_unit(unit) is unit
    assert unit.truncated is False


@settings(max_examples=30, deadline=None)
@given(
    text=st.text(min_size=1, max_size=20).map(lambda piece: piece * 4000),
    captions=st.integers(min_value=0, max_value=300),
)
@example(text="0\r\x80" * 4000, captions=46)  # escaped control characters, measured with the mark
def test_whatever_is_too_large_is_cut_to_fit_and_the_ids_stay(text: str, captions: int) -> None:
    attachments = [{"type": "image", "media_id": f"m{n}", "caption": "ñ" * 300} for n in range(captions)]
    unit = _message(text=text, attachments=attachments)
    fitted = fit_unit(unit)
    assert _size(fitted) <= MAX_UNIT_BYTES
    assert fitted.truncated is (_size(unit) > MAX_UNIT_BYTES)
    assert (fitted.account_id, fitted.customer_id, fitted.dedupe_key, fitted.platform_message_id) == (
        unit.account_id,
        unit.customer_id,
        unit.dedupe_key,
        unit.platform_message_id,
    )
    assert fitted.text
    assert text.startswith(fitted.text)


def test_the_queue_message_of_an_oversized_unit_fits_sqs() -> None:
    message = to_message(_message(text="x" * 1_100_000), "corr-1")
    assert len(message["MessageBody"].encode()) <= 256 * 1024
    assert json.loads(message["MessageBody"])["unit"]["truncated"] is True
