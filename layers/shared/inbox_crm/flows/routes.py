"""Automation flows: /v1/flows (CRUD, enable / disable, runs) and /v1/flow-templates."""

from __future__ import annotations

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from inbox_crm.contacts.values import InvalidFields
from inbox_crm.core.timeutil import to_millis
from inbox_crm.flows import definitions as flows
from inbox_crm.flows import templates as flows_templates
from inbox_crm.flows.schemas import (
    FlowFromTemplateIn,
    FlowIn,
    FlowList,
    FlowOut,
    FlowRunOut,
    FlowRunPage,
    FlowRunSummary,
    FlowStepOut,
    FlowTemplateList,
    FlowTemplateOut,
)
from inbox_crm.http.errors_doc import documented
from inbox_crm.store.models import Flow, FlowRun, FlowRunStep
from inbox_crm.workspaces.principal import principal_of

router = Router()


def flow_out(flow: Flow, last_run: FlowRun | None = None) -> FlowOut:
    definition = flows.definition_of(flow)
    return FlowOut(
        id=flow.flow_id,
        name=flow.name,
        state=flow.state,  # type: ignore[arg-type]
        version=int(flow.flow_version),
        trigger=definition["trigger"],
        conditions=definition.get("conditions") or [],
        match=definition.get("match", "all"),
        steps=definition["steps"],
        template_key=flow.template_key,
        error_count=int(flow.error_count or 0),
        last_error=flow.last_error,
        last_error_at=flow.last_error_at,
        created_at=flow.created_at,
        updated_at=flow.updated_at,
        last_run=FlowRunSummary(
            id=last_run.run_id,
            state=last_run.state,
            started_at=last_run.started_at,
            finished_at=last_run.finished_at,
            error=last_run.error,
        )
        if last_run
        else None,
    )


def _step_out(step: FlowRunStep) -> FlowStepOut:
    duration = (
        to_millis(step.finished_at) - to_millis(step.started_at)
        if step.finished_at and step.started_at
        else None
    )
    return FlowStepOut(
        path=step.path,
        type=step.step_type,
        state=step.state,
        input=dict(step.input.as_dict()) if step.input else None,
        result=dict(step.result.as_dict()) if step.result else None,
        error=step.error,
        attempts=int(step.attempts or 0),
        started_at=step.started_at,
        finished_at=step.finished_at,
        duration_ms=duration,
    )


def run_out(run: FlowRun, steps: list[FlowRunStep]) -> FlowRunOut:
    return FlowRunOut(
        id=run.run_id,
        flow_id=run.flow_id,
        flow_version=int(run.flow_version),
        state=run.state,
        trigger_event_id=run.trigger_event_id,
        trigger_event_name=run.trigger_event_name,
        trigger=dict(run.trigger.as_dict()) if run.trigger else {},
        conversation_id=run.conversation_id,
        contact_id=run.contact_id,
        current_path=run.current_path,
        started_at=run.started_at,
        finished_at=run.finished_at,
        resume_at=run.resume_at,
        error=run.error,
        failed_path=run.failed_path,
        steps=[_step_out(step) for step in steps],
    )


def _definition(body: FlowIn) -> dict[str, Any]:
    return body.model_dump(by_alias=True, exclude_none=True, exclude={"name", "version"})


@router.get(
    "/v1/flows",
    summary="List flows, with their state, version, error count and last run",
    tags=["flows"],
    responses=documented(200, FlowList, "The workspace's flows", 401),
)
def list_flows() -> FlowList:
    principal = principal_of(router)
    principal.require("flows.read")
    items = sorted(flows.list_flows(principal.workspace_id), key=lambda flow: flow.flow_id)
    workspace_id = principal.workspace_id
    return FlowList(items=[flow_out(flow, flows.last_run(workspace_id, flow.flow_id)) for flow in items])


@router.post(
    "/v1/flows",
    summary="Create a flow (as a draft)",
    tags=["flows"],
    status_code=201,
    responses=documented(201, FlowOut, "Created", 400, 401, 403, 409, 415, 422),
)
def create_flow(body: FlowIn) -> FlowOut:
    principal = principal_of(router)
    principal.require("flows.manage")
    flow = flows.create_flow(principal.workspace_id, body.name, _definition(body), principal.user_id)
    return flow_out(flow)


@router.get(
    "/v1/flows/<flow_id>",
    summary="Read a flow",
    tags=["flows"],
    responses=documented(200, FlowOut, "The flow", 401, 404),
)
def get_flow(flow_id: str) -> FlowOut:
    principal = principal_of(router)
    principal.require("flows.read")
    flow = flows.get_flow(principal.workspace_id, flow_id)
    return flow_out(flow, flows.last_run(principal.workspace_id, flow_id))


@router.put(
    "/v1/flows/<flow_id>",
    summary="Replace a flow's definition (its version increments; runs keep the version they started with)",
    tags=["flows"],
    responses=documented(200, FlowOut, "The new version", 400, 401, 403, 404, 412, 415, 422),
)
def update_flow(flow_id: str, body: FlowIn) -> FlowOut:
    principal = principal_of(router)
    principal.require("flows.manage")
    flow = flows.update_flow(
        principal.workspace_id, flow_id, body.name, _definition(body), principal.user_id, body.version
    )
    return flow_out(flow)


@router.delete(
    "/v1/flows/<flow_id>",
    summary="Delete a flow (its run history stays readable by run id only)",
    tags=["flows"],
    status_code=204,
    responses=documented(204, None, "Deleted", 401, 403, 404),
)
def delete_flow(flow_id: str) -> Response[None]:
    principal = principal_of(router)
    principal.require("flows.manage")
    flows.delete_flow(principal.workspace_id, flow_id)
    return Response(status_code=204)


@router.post(
    "/v1/flows/<flow_id>/enable",
    summary="Enable (activate) a flow",
    tags=["flows"],
    responses=documented(200, FlowOut, "The flow, active", 401, 403, 404, 412, 422),
)
def enable_flow(flow_id: str) -> FlowOut:
    principal = principal_of(router)
    principal.require("flows.manage")
    return flow_out(flows.set_state(principal.workspace_id, flow_id, "active", principal.user_id))


@router.post(
    "/v1/flows/<flow_id>/disable",
    summary="Disable a flow: no new runs; waiting runs stop when they would resume",
    tags=["flows"],
    responses=documented(200, FlowOut, "The flow, disabled", 401, 403, 404, 412),
)
def disable_flow(flow_id: str) -> FlowOut:
    principal = principal_of(router)
    principal.require("flows.manage")
    return flow_out(flows.set_state(principal.workspace_id, flow_id, "disabled", principal.user_id))


@router.get(
    "/v1/flows/<flow_id>/runs",
    summary="A flow's runs, newest first, each with every step's input, result, error and timing",
    tags=["flows"],
    responses=documented(200, FlowRunPage, "A page of runs", 400, 401, 404, 422),
)
def list_runs(
    flow_id: str,
    limit: Annotated[int, Query(ge=1, le=50)] = 20,
    cursor: Annotated[str | None, Query(max_length=2000)] = None,
) -> FlowRunPage:
    principal = principal_of(router)
    principal.require("flows.read")
    page = flows.list_runs(principal.workspace_id, flow_id, limit, cursor)
    return FlowRunPage(items=[run_out(run, steps) for run, steps in page.items], next_cursor=page.next_cursor)


@router.get(
    "/v1/flow-templates",
    summary="Ready-made flows (register senders, welcome, out of hours, assign to an agent)",
    tags=["flows"],
    responses=documented(200, FlowTemplateList, "The templates", 401),
)
def list_templates() -> FlowTemplateList:
    principal = principal_of(router)
    principal.require("flows.read")
    items = []
    for template in flows_templates.TEMPLATES.values():
        try:
            example = template.build({})
        except InvalidFields:  # a template with required parameters has no parameterless example
            example = None
        items.append(
            FlowTemplateOut(
                key=template.key,
                name=template.name,
                description=template.description,
                params=template.params,
                example=example,
            )
        )
    return FlowTemplateList(items=items)


@router.post(
    "/v1/flow-templates/<key>",
    summary="Create a flow from a template (optionally enabled at once)",
    tags=["flows"],
    status_code=201,
    responses=documented(201, FlowOut, "Created", 400, 401, 403, 404, 409, 415, 422),
)
def create_from_template(key: str, body: FlowFromTemplateIn) -> FlowOut:
    principal = principal_of(router)
    principal.require("flows.manage")
    flow = flows.instantiate_template(
        principal.workspace_id, key, body.params, principal.user_id, name=body.name, enable=body.enable
    )
    return flow_out(flow)
