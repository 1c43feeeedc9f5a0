"""Flow step: Crear/asociar contacto (FlowActionRequested, action: create_contact)."""

from __future__ import annotations

from inbox_crm.flow_action_handler import flow_action_handler

lambda_handler = flow_action_handler("create_contact")
