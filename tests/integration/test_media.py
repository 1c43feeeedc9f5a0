"""WhatsApp media is copied to our bucket after the message is stored; agents upload attachments."""

from __future__ import annotations

import base64

import pytest

from inbox_crm.aws import client
from inbox_crm.channels.units import UnitAttachment
from inbox_crm.domain import channels
from inbox_crm.domain.ingest import ingest
from inbox_crm.settings import get_settings
from inbox_local.apigw import lambda_context
from inbox_local.graph_standin import GraphStandIn
from support.api import ApiClient
from support.units import WA_NUMBER, unit
from support.world import World


@pytest.fixture
def voice_note(world: World, graph: GraphStandIn) -> dict:
    channels.register_channel("ws_alpha", "whatsapp", WA_NUMBER, "Alpha WA", "usr_alpha_owner")
    result = ingest(
        unit(
            platform="whatsapp",
            account_id=WA_NUMBER,
            customer_id="5215512340001",
            platform_message_id="wamid.voice1",
            attachments=[
                UnitAttachment(type="audio", media_id="1029384756", mime_type="audio/ogg", voice=True)
            ],
        )
    )
    [received] = [event for event in result.events if event.name == "MessageReceived"]
    assert received.data["media_ids"] == ["1029384756"]
    return {"detail": {**received.detail()}, "detail-type": "MessageReceived", "source": "inbox.crm"}


def test_whatsapp_media_is_copied_once_and_offered_for_download(
    api: ApiClient, voice_note: dict, graph: GraphStandIn
) -> None:
    from media_handler import lambda_handler

    envelope = {
        "version": "0",
        "id": "e1",
        "account": "0",
        "region": "us-east-1",
        "time": "",
        "resources": [],
        **voice_note,
    }
    assert lambda_handler(envelope, lambda_context("MediaFunction")) == {"copied": 1}
    assert lambda_handler(envelope, lambda_context("MediaFunction")) == {"copied": 0}
    objects = client("s3").list_objects_v2(Bucket=get_settings().media_bucket)["Contents"]
    assert len(objects) == 1
    stored = client("s3").get_object(Bucket=get_settings().media_bucket, Key=objects[0]["Key"])
    assert stored["ContentType"] == "audio/ogg"
    assert stored["Body"].read()  # the stand-in's bytes
    downloads = [r for r in graph.requests() if "/_media/" in r["path"] or r["path"].endswith("1029384756")]
    assert len(downloads) == 2  # locate + download, once
    conversation = api.get("/v1/conversations").json()["items"][0]
    [message] = api.get(f"/v1/conversations/{conversation['id']}/messages").json()["items"]
    [attachment] = message["attachments"]
    assert attachment["media_id"] == "1029384756"
    assert attachment["download_url"].startswith("http")
    assert attachment["size"] > 0


def test_a_failed_copy_keeps_the_message_and_raises_for_a_retry(
    voice_note: dict, graph: GraphStandIn
) -> None:
    from inbox_crm.channels.graph import GraphError
    from inbox_crm.domain.media import copy_message_media

    graph.fail(status=500, error={"code": 2, "message": "down"}, method="GET", times=5)
    detail = voice_note["detail"]
    with pytest.raises(GraphError):
        copy_message_media("ws_alpha", detail["conversation_id"], detail["message_sk"], WA_NUMBER)
    graph.clear_failures()
    assert copy_message_media("ws_alpha", detail["conversation_id"], detail["message_sk"], WA_NUMBER) == 1


def test_upload_then_send_it_as_an_attachment(api: ApiClient, world: World) -> None:
    data = base64.b64encode(b"%PDF-1.4 catalogo").decode()
    reply = api.post(
        "/v1/uploads", {"filename": "catálogo 2026.pdf", "content_type": "application/pdf", "data": data}
    )
    assert reply.status == 201, reply.text
    upload = reply.json()
    assert upload["type"] == "file"
    assert upload["size"] == len(b"%PDF-1.4 catalogo")
    assert upload["url"].startswith("http")
    assert upload["filename"] == "cat_logo_2026.pdf"


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"filename": "a.png", "content_type": "image/png", "data": "not base64!!"}, 400),
        (
            {
                "filename": "a.png",
                "content_type": "image/png",
                "data": base64.b64encode(b"x" * (5 * 1024 * 1024 + 1)).decode(),
            },
            400,
        ),
        ({"filename": "a.png", "content_type": "image png", "data": "aGVsbG8="}, 422),
        ({"filename": "", "content_type": "image/png", "data": "aGVsbG8="}, 422),
    ],
)
def test_bad_uploads_are_refused(api: ApiClient, world: World, body: dict, status: int) -> None:
    assert api.post("/v1/uploads", body).status == status
