"""Checks on web/'s files themselves: both languages have the same strings, every string the app asks
for exists, and no code path can turn text into HTML."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from inbox_crm.workspaces.permissions import ADMINS, PERMISSIONS
from inbox_local.template import PROJECT_ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

WEB = PROJECT_ROOT / "web"
SCRIPTS = sorted(WEB.rglob("*.js"))
# Keys built at run time: t(`channel.${channel}`) and the like, with the values they take.
DYNAMIC_KEYS = {
    "channel.": ["messenger", "instagram", "whatsapp"],
    "role.": ["owner", "manager", "agent"],
    "language.": ["es", "en"],
    "origin.": ["app", "meta_inbox", "page", "agent", "flow", "business"],
    "status.": ["queued", "scheduled", "sending", "sent", "delivered", "read", "failed"],
    "contact.identity_note.": ["messenger", "instagram", "whatsapp"],
    "attachment.": [
        "image", "video", "audio", "file", "document", "location", "sticker", "template", "reel",
        "fallback", "ig_post", "share", "story_mention", "contacts", "order", "unsupported",
        "message", "comment", "postback", "referral",
    ],
}  # fmt: skip


def dictionary(lang: str) -> dict[str, str]:
    return json.loads((WEB / "i18n" / f"{lang}.json").read_text(encoding="utf-8"))


def test_spanish_and_english_have_the_same_keys() -> None:
    spanish, english = dictionary("es"), dictionary("en")

    assert sorted(spanish) == sorted(english)
    assert all(isinstance(value, str) and value.strip() for value in [*spanish.values(), *english.values()])
    for key in spanish:  # the same {placeholders} in both
        assert set(re.findall(r"\{\w+\}", spanish[key])) == set(re.findall(r"\{\w+\}", english[key])), key


def test_every_string_the_app_uses_exists() -> None:
    spanish = dictionary("es")
    areas = {key.split(".")[0] for key in spanish}
    used: set[str] = set()
    for script in SCRIPTS:
        # Every 'area.key' literal (t('inbox.title'), ternaries choosing a key...) of a known area.
        literals = re.findall(r"""'([a-z_]+(?:\.[a-z_]+)+)'""", script.read_text(encoding="utf-8"))
        used |= {literal for literal in literals if literal.split(".")[0] in areas}
    html = (WEB / "index.html").read_text(encoding="utf-8")
    used |= set(re.findall(r'data-i18n(?:-[a-z-]+)?="([^"]+)"', html))
    used |= {prefix + value for prefix, values in DYNAMIC_KEYS.items() for value in values}
    used -= set(PERMISSIONS)  # action names (js/errors.js), not strings

    missing = sorted(key for key in used if key not in spanish)

    assert not missing, f"strings used by web/ but missing from i18n/es.json: {missing}"
    assert len(used) > 150


def test_the_ui_hides_exactly_what_the_api_refuses_agents() -> None:
    """js/errors.js keeps the admin-only actions the panel needs; they must stay admin-only in the API."""
    source = (WEB / "js" / "errors.js").read_text(encoding="utf-8")
    listed = re.search(r"ADMIN_ONLY = new Set\(\[([^\]]*)\]\)", source)
    assert listed is not None
    admin_only = set(re.findall(r"'([a-z_.]+)'", listed.group(1)))
    checked = set(re.findall(r"can\([^,]+,\s*'([a-z_.]+)'\)", "".join(p.read_text() for p in SCRIPTS)))

    assert admin_only, "no admin-only actions found"
    assert all(PERMISSIONS[action] == ADMINS for action in admin_only)
    assert checked <= set(PERMISSIONS)
    assert {action for action in checked if PERMISSIONS[action] == ADMINS} <= admin_only


@pytest.mark.parametrize("path", [*SCRIPTS, WEB / "index.html"], ids=lambda path: str(path.relative_to(WEB)))
def test_no_html_sinks_or_inline_handlers(path: Path) -> None:
    source = path.read_text(encoding="utf-8")

    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function"):
        assert sink not in source, f"{path.name} uses {sink}"
    assert not re.search(r"<[a-z][^>]*\son[a-z]+\s*=", source, re.IGNORECASE), f"{path.name}: inline handler"
    assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", source), f"{path.name}: inline script"
    assert not re.search(r"""(src|href)=["']https?://""", source), f"{path.name}: an external resource"
