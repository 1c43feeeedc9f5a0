"""Workspace-defined contact fields: their definitions and the typed values contacts hold."""

from __future__ import annotations

import math
import re
from datetime import date
from typing import Any

from pynamodb.exceptions import PutError

from inbox_crm.contacts.values import InvalidFields
from inbox_crm.core.errors import Conflict
from inbox_crm.core.timeutil import utcnow
from inbox_crm.store.models import CustomField, ws_pk
from inbox_crm.store.transactions import condition_failed

FIELD_TYPES = ("text", "number", "date", "boolean", "single_select", "id")
MAX_FIELDS = 100
MAX_OPTIONS = 100
MAX_TEXT = 2000
MAX_ID = 100
KEY_PATTERN = r"^[a-z][a-z0-9_]{0,39}$"
_KEY = re.compile(KEY_PATTERN)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def list_fields(workspace_id: str) -> list[CustomField]:
    fields = CustomField.query(ws_pk(workspace_id), CustomField.sk.startswith("FIELD#"), consistent_read=True)
    return [field for field in fields if isinstance(field, CustomField)]


def create_field(
    workspace_id: str,
    field_key: str,
    label: str,
    field_type: str,
    options: list[str] | None,
    created_by: str,
) -> CustomField:
    _check_definition(field_key, field_type, options)
    if len(list_fields(workspace_id)) >= MAX_FIELDS:
        raise Conflict(f"A workspace can define at most {MAX_FIELDS} custom fields")
    field = CustomField(
        *CustomField.key(workspace_id, field_key),
        workspace_id=workspace_id,
        field_key=field_key,
        label=label.strip(),
        field_type=field_type,
        options=list(dict.fromkeys(option.strip() for option in options)) if options else None,
        created_by=created_by,
        created_at=utcnow(),
    )
    try:
        field.save(condition=CustomField.pk.does_not_exist())
    except PutError as error:
        if not condition_failed(error):
            raise
        raise Conflict("A custom field with this key already exists", {"key": field_key}) from None
    return field


def _check_definition(field_key: str, field_type: str, options: list[str] | None) -> None:
    if not _KEY.match(field_key):
        raise InvalidFields.one(("key",), "lowercase letters, digits and _ , starting with a letter", "key")
    if field_type not in FIELD_TYPES:
        raise InvalidFields.one(("type",), f"one of {', '.join(FIELD_TYPES)}", "type")
    if field_type == "single_select":
        cleaned = [option.strip() for option in options or []]
        if not cleaned or any(not option for option in cleaned):
            raise InvalidFields.one(("options",), "a single select needs non-empty options", "options")
        if len(cleaned) > MAX_OPTIONS or len(set(cleaned)) != len(cleaned):
            raise InvalidFields.one(("options",), f"at most {MAX_OPTIONS} distinct options", "options")
    elif options:
        raise InvalidFields.one(("options",), "only single_select fields have options", "options")


def validate_values(definitions: list[CustomField], values: dict[str, Any]) -> dict[str, Any]:
    """Typed, normalised values; None means "remove the value". Every failing key is reported."""
    by_key = {field.field_key: field for field in definitions}
    cleaned: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    for key, value in values.items():
        field = by_key.get(key)
        if field is None:
            errors.append({"loc": ["custom_fields", key], "msg": "no such custom field", "type": "unknown"})
            continue
        if value is None:
            cleaned[key] = None
            continue
        try:
            cleaned[key] = _typed(field, value)
        except ValueError as error:
            errors.append({"loc": ["custom_fields", key], "msg": str(error), "type": field.field_type})
    if errors:
        raise InvalidFields(errors)
    return cleaned


def _typed(field: CustomField, value: Any) -> Any:
    kind = field.field_type
    if kind == "boolean":
        if not isinstance(value, bool):
            raise ValueError("expected true or false")
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise ValueError("expected a finite number")
        return value
    if not isinstance(value, str):
        raise ValueError("expected a string")
    text = value.strip()
    if kind == "date":
        if not _is_calendar_date(text):
            raise ValueError("expected a date as YYYY-MM-DD")
        return text
    if kind == "single_select":
        if text not in (field.options or []):
            raise ValueError(f"expected one of: {', '.join(field.options or [])}")
        return text
    limit = MAX_ID if kind == "id" else MAX_TEXT
    if not text or len(text) > limit:
        raise ValueError(f"expected 1 to {limit} characters")
    return text


def _is_calendar_date(text: str) -> bool:
    if not _DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True
