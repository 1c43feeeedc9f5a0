"""Test data built through the same models the product uses."""

from __future__ import annotations

from dataclasses import dataclass, field

from inbox_crm.core.timeutil import utcnow
from inbox_crm.store.models import User, Workspace


@dataclass
class Member:
    workspace_id: str
    user_id: str
    role: str
    email: str

    @property
    def claims(self) -> dict[str, str]:
        return {
            "sub": self.user_id,
            "email": self.email,
            "custom:workspace_id": self.workspace_id,
            "custom:role": self.role,
        }


@dataclass
class World:
    members: dict[str, Member] = field(default_factory=dict)

    @classmethod
    def create(cls) -> World:
        world = cls()
        for workspace_id, label in (("ws_alpha", "Alpha"), ("ws_beta", "Beta")):
            Workspace(
                *Workspace.key(workspace_id),
                workspace_id=workspace_id,
                name=f"Tienda {label}",
                created_at=utcnow(),
            ).save()
            for role in ("owner", "manager", "agent"):
                user_id = f"usr_{label.lower()}_{role}"
                email = f"{role}@{label.lower()}.example"
                User(
                    *User.key(workspace_id, user_id),
                    workspace_id=workspace_id,
                    user_id=user_id,
                    email=email,
                    name=f"{role.title()} {label}",
                    role=role,
                    created_at=utcnow(),
                ).save()
                world.members[f"{label.lower()}_{role}"] = Member(workspace_id, user_id, role, email)
        return world

    def __getitem__(self, name: str) -> Member:
        return self.members[name]
