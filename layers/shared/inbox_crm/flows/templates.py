"""Ready-made flows from the seeds: register senders per channel, welcome new Messenger users, answer
out of hours, assign to an agent. Each builds a definition from a few optional parameters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from inbox_crm.contacts.values import InvalidFields
from inbox_crm.core.errors import NotFound

_CHANNEL_LABELS = {"messenger": "Facebook", "instagram": "Instagram", "whatsapp": "WhatsApp"}
DEFAULT_SCHEDULE = {"days": [0, 1, 2, 3, 4], "start": "09:00", "end": "18:00"}


@dataclass(frozen=True)
class Template:
    key: str
    name: str
    description: str
    builder: Callable[[dict[str, Any]], dict[str, Any]]
    params: dict[str, str] = field(default_factory=dict)  # name -> what it is

    def build(self, params: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(params) - set(self.params))
        if unknown:
            raise InvalidFields(
                [
                    {"loc": ["params", name], "msg": "unknown parameter", "type": "extra_forbidden"}
                    for name in unknown
                ]
            )
        return self.builder(params)


def _register(channel: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    def build(params: dict[str, Any]) -> dict[str, Any]:
        return {
            "trigger": {"type": "conversation_opened", "channel": channel},
            "steps": [{"type": "create_contact", "add_source_tag": params.get("add_source_tag", True)}],
        }

    return build


def _welcome(params: dict[str, Any]) -> dict[str, Any]:
    text = params.get(
        "text",
        "¡Hola {{contact.first_name}}! 👋 Gracias por escribirnos. Para atenderte mejor, "
        "¿nos compartes tu nombre completo y tu correo electrónico?",
    )
    return {
        "trigger": {"type": "conversation_opened", "channel": "messenger"},
        "conditions": [{"field": "contact.id", "op": "is_not_set"}],
        "steps": [{"type": "send_message", "text": text}],
    }


def _out_of_hours(params: dict[str, Any]) -> dict[str, Any]:
    text = params.get(
        "text",
        "¡Gracias por escribirnos! Nuestro horario de atención es de lunes a viernes de 9:00 a 18:00. "
        "Te responderemos en cuanto estemos de vuelta.",
    )
    return {
        "trigger": {"type": "conversation_opened", "channel": params.get("channel", "any")},
        "steps": [
            {
                "type": "decision",
                "conditions": [
                    {
                        "field": "now",
                        "op": "out_of_hours",
                        "schedule": params.get("schedule", DEFAULT_SCHEDULE),
                    }
                ],
                "then": [{"type": "send_message", "text": text}],
                "else": [],
            }
        ],
    }


def _assign(params: dict[str, Any]) -> dict[str, Any]:
    user_ids = params.get("user_ids")
    if not user_ids or not isinstance(user_ids, list):
        raise InvalidFields.one(("params", "user_ids"), "name the agents to assign to", "missing")
    step: dict[str, Any] = (
        {"type": "assign", "user_id": user_ids[0]}
        if len(user_ids) == 1
        else {"type": "assign", "user_ids": user_ids}
    )
    return {
        "trigger": {"type": "conversation_opened", "channel": params.get("channel", "any")},
        "conditions": [{"field": "conversation.assignee_id", "op": "is_not_set"}],
        "steps": [step],
    }


TEMPLATES: dict[str, Template] = {
    **{
        f"register_{channel}_senders": Template(
            f"register_{channel}_senders",
            f"Registrar remitentes de {label}",
            f"Conversación abierta por mensaje recibido vía {label} → Crear/asociar contacto "
            f"(y la etiqueta de origen).",
            _register(channel),
            {"add_source_tag": "add the source tag (default true)"},
        )
        for channel, label in _CHANNEL_LABELS.items()
    },
    "welcome_messenger": Template(
        "welcome_messenger",
        "Bienvenida a nuevos usuarios de Messenger",
        "A un remitente de Messenger sin contacto le pide su nombre y su correo electrónico.",
        _welcome,
        {"text": "the message (variables allowed)"},
    ),
    "out_of_hours": Template(
        "out_of_hours",
        "Mensaje fuera de horario",
        "Fuera del horario de atención (zona horaria del espacio de trabajo) responde con un aviso.",
        _out_of_hours,
        {"text": "the message", "schedule": "{days, start, end, timezone?}", "channel": "any | <channel>"},
    ),
    "assign_to_agent": Template(
        "assign_to_agent",
        "Asignar a un agente",
        "Asigna cada conversación nueva sin agente a un agente, o por turnos entre varios.",
        _assign,
        {"user_ids": "one agent, or several for round robin (required)", "channel": "any | <channel>"},
    ),
}


def get(key: str) -> Template:
    template = TEMPLATES.get(key)
    if template is None:
        raise NotFound("No such flow template")
    return template
