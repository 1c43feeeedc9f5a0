"""POST /v1/uploads: an agent's file, to send as an attachment by the URL it answers with."""

from __future__ import annotations

from aws_lambda_powertools.event_handler.api_gateway import Router

from inbox_crm.http.errors_doc import documented
from inbox_crm.media.schemas import UploadIn, UploadOut
from inbox_crm.media.storage import store_upload
from inbox_crm.workspaces.principal import principal_of

router = Router()


@router.post(
    "/v1/uploads",
    summary="Upload a file (base64, up to 5 MB) to attach to messages",
    tags=["inbox"],
    status_code=201,
    responses=documented(201, UploadOut, "Stored", 400, 401, 403, 422),
)
def upload(body: UploadIn) -> UploadOut:
    principal = principal_of(router)
    principal.require("messages.send")
    stored = store_upload(
        principal.workspace_id, principal.user_id, body.filename, body.content_type, body.data
    )
    return UploadOut.model_validate(stored)
