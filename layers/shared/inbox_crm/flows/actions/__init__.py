"""The flow actions, one module per action, each with ``perform(call)``. A function imports only the
modules of the actions it performs (template.yaml routes each action type to its own function)."""

from __future__ import annotations

from importlib import import_module
from typing import cast

from inbox_crm.flows.steps import Action

# action type (flows/model.py ACTION_TYPES) -> the module under flows/actions/ that performs it
MODULES: dict[str, str] = {
    "create_contact": "contact",
    "add_tag": "tag",
    "remove_tag": "tag",
    "send_message": "send",
    "assign": "assign",
    "close": "close",
    "reply_comment": "comment_reply",
}


def actions_for(*types: str) -> dict[str, Action]:
    return {name: cast(Action, import_module(f"{__name__}.{MODULES[name]}").perform) for name in types}
