"""Seeds the demo data (inbox_local.demo) on the first start, through the product's own models and
domain functions. Imports inbox_crm, so call it only once the environment points at the local stack.
"""

from __future__ import annotations

import logging

from inbox_local import demo

log = logging.getLogger("inbox_local.seed")


def seed_if_empty() -> bool:
    """Seeds unless the demo workspace exists; True when it seeded."""
    from inbox_crm.core.errors import Conflict
    from inbox_crm.core.timeutil import utcnow
    from inbox_crm.store.models import User, Workspace
    from inbox_crm.workspaces.channels import connect_channel

    try:
        Workspace.get(*Workspace.key(demo.DEMO_WORKSPACE_ID), consistent_read=True)
        return False
    except Workspace.DoesNotExist:
        pass

    now = utcnow()
    owner = demo.demo_user(demo.DEMO_WORKSPACE_ID, "owner")
    for user in demo.USERS:
        User(
            *User.key(user.workspace_id, user.user_id),
            workspace_id=user.workspace_id,
            user_id=user.user_id,
            email=user.email,
            name=user.name,
            role=user.role,
            created_at=now,
        ).save()
    for channel in demo.CHANNELS:
        try:
            # Proven like any channel: the Graph stand-in confirms the demo tokens (stack.py).
            connect_channel(
                demo.DEMO_WORKSPACE_ID,
                channel.platform,
                channel.account_id,
                channel.name,
                channel.token,
                created_by=owner.user_id if owner else "seed",
            )
        except Conflict:
            log.info("demo %s account %s already registered", channel.platform, channel.account_id)
    # The demo workspace last: it marks the seed as done, so an interrupted seed is redone.
    for workspace in sorted(demo.WORKSPACES, key=lambda w: w.workspace_id == demo.DEMO_WORKSPACE_ID):
        Workspace(
            *Workspace.key(workspace.workspace_id),
            workspace_id=workspace.workspace_id,
            name=workspace.name,
            default_region=workspace.default_region,
            language=workspace.language,
            created_at=now,
        ).save()
    log.info("seeded demo workspaces %s", ", ".join(w.workspace_id for w in demo.WORKSPACES))
    return True
