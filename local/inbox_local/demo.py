"""The demo data every fresh local stack starts with. Plain constants: no AWS or project imports."""

from __future__ import annotations

from dataclasses import dataclass

DEMO_WORKSPACE_ID = "ws_demo"
OTHER_WORKSPACE_ID = "ws_other"


@dataclass(frozen=True)
class DemoWorkspace:
    workspace_id: str
    name: str
    default_region: str = "MX"
    language: str = "es"


@dataclass(frozen=True)
class DemoUser:
    workspace_id: str
    user_id: str
    role: str
    email: str
    name: str


@dataclass(frozen=True)
class DemoChannel:
    platform: str
    account_id: str
    name: str
    waba_id: str | None = None  # a WhatsApp number's business account

    @property
    def token(self) -> str:
        """The access token the Graph stand-in confirms for this account (see local_page_tokens)."""
        return f"local-token-{self.account_id}"


WORKSPACES = (
    DemoWorkspace(DEMO_WORKSPACE_ID, "Tienda Demo"),
    # A second tenant, so isolation can be shown (and tested) against the running stack.
    DemoWorkspace(OTHER_WORKSPACE_ID, "Otra Tienda"),
)

USERS = (
    DemoUser(DEMO_WORKSPACE_ID, "usr_demo_owner", "owner", "owner@demo.local", "Olivia Owner"),
    DemoUser(DEMO_WORKSPACE_ID, "usr_demo_manager", "manager", "manager@demo.local", "Mario Manager"),
    DemoUser(DEMO_WORKSPACE_ID, "usr_demo_agent", "agent", "agent@demo.local", "Ana Agent"),
    DemoUser(OTHER_WORKSPACE_ID, "usr_other_owner", "owner", "owner@other.local", "Otto Owner"),
)

# Registered in ws_demo; their ids are what sample webhooks (events/) and replays address.
CHANNELS = (
    DemoChannel("messenger", "100000000000001", "Tienda Demo (Facebook)"),
    DemoChannel("instagram", "17841400000000001", "@tiendademo"),
    DemoChannel("whatsapp", "100000000000099", "+52 55 1234 5678", waba_id="100000000000098"),
)


def demo_user(workspace_id: str, role: str) -> DemoUser | None:
    return next((user for user in USERS if user.workspace_id == workspace_id and user.role == role), None)


def local_page_tokens() -> str:
    """LOCAL_PAGE_TOKENS for the demo accounts: the tokens the Graph stand-in confirms for them."""
    return ",".join(f"{channel.account_id}={channel.token}" for channel in CHANNELS)
