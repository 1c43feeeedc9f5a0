"""Who may do what. docs/PERMISSIONS.md is generated from this table and a test keeps them equal."""

from __future__ import annotations

from enum import StrEnum

from inbox_crm.core.errors import Forbidden


class Role(StrEnum):
    OWNER = "owner"
    MANAGER = "manager"
    AGENT = "agent"


ALL = frozenset(Role)
ADMINS = frozenset({Role.OWNER, Role.MANAGER})

# action -> roles allowed. Every API route names exactly one action.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "me.read": ALL,
    "members.read": ALL,
    "channels.read": ALL,
    "channels.manage": ADMINS,
    "conversations.read": ALL,
    "messages.send": ALL,
    "conversations.work": ALL,
    "broadcasts.read": ALL,
    "broadcasts.manage": ADMINS,
    "webhooks.unrouted.read": ADMINS,
    "contacts.read": ALL,
    "contacts.write": ALL,
    "contacts.tag": ALL,
    "contacts.block": ALL,
    "contacts.unblock": ADMINS,
    "contacts.unlink": ADMINS,
    "contacts.delete": ADMINS,
    "contacts.merge": ALL,
    "merges.undo": ALL,
    "merges.read": ADMINS,
    "merge_suggestions.read": ALL,
    "merge_suggestions.dismiss": ALL,
    "tags.read": ALL,
    "tags.manage": ADMINS,
    "custom_fields.read": ALL,
    "custom_fields.manage": ADMINS,
    "flows.read": ALL,
    "flows.manage": ADMINS,
}

DESCRIPTIONS: dict[str, str] = {
    "me.read": "See who you are: user, workspace and role",
    "members.read": "List the workspace's active members (to assign a conversation to a teammate)",
    "channels.read": "List the workspace's Pages, Instagram accounts and WhatsApp numbers",
    "channels.manage": "Register and remove channel accounts",
    "conversations.read": "Read the inbox: conversations and their messages",
    "messages.send": "Reply, send templates, answer comments and schedule messages",
    "conversations.work": "Close, reopen and assign conversations",
    "broadcasts.read": "See broadcasts and their per-recipient progress",
    "broadcasts.manage": "Create and cancel broadcasts to a tag",
    "webhooks.unrouted.read": "See validly signed webhook deliveries that could not be routed",
    "contacts.read": "Search, list and view contacts",
    "contacts.write": "Create and edit contacts; create or associate a contact from a conversation",
    "contacts.tag": "Add existing tags to contacts and remove them (one contact or in bulk)",
    "contacts.block": "Block a contact: its conversations close and leave the inbox",
    "contacts.unblock": "Unblock a contact",
    "contacts.unlink": "Remove a channel (a conversation's sender) from its contact",
    "contacts.delete": "Delete a contact (kept as an audit record; its conversations stay)",
    "contacts.merge": "Merge two contacts (undoable); accept a merge suggestion",
    "merges.undo": "Undo a merge. Agents: only merges they made; owners and managers: any merge",
    "merges.read": "See the merge history (who merged what, when)",
    "merge_suggestions.read": "See merge suggestions (workspace-wide and per contact)",
    "merge_suggestions.dismiss": "Dismiss a merge suggestion (the pair is not suggested again)",
    "tags.read": "List the workspace's tags",
    "tags.manage": "Create tags",
    "custom_fields.read": "List the workspace's custom contact fields",
    "custom_fields.manage": "Define custom contact fields",
    "flows.read": "See automation flows, their templates and their run history",
    "flows.manage": "Create, edit, enable, disable and delete automation flows",
}


def require(role: str, action: str) -> None:
    allowed = PERMISSIONS[action]
    if role not in allowed:
        raise Forbidden(
            f"Your role ({role}) may not do this",
            {"action": action, "allowed_roles": sorted(allowed)},
        )


def allowed_actions(role: str) -> list[str]:
    """The actions a role may take, in table order (the web app shows only what the caller may use)."""
    return [action for action, roles in PERMISSIONS.items() if role in roles]


def permissions_markdown() -> str:
    roles = list(Role)
    header = "| action | what it covers | " + " | ".join(roles) + " |"
    rule = "|---|---|" + "---|" * len(roles)
    rows = [
        f"| `{action}` | {DESCRIPTIONS[action]} | "
        + " | ".join("yes" if role in allowed else "no" for role in roles)
        + " |"
        for action, allowed in PERMISSIONS.items()
    ]
    return "\n".join([header, rule, *rows])
