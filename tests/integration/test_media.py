"""WhatsApp media is copied to our bucket after the message is stored; agents upload attachments."""

from __future__ import annotations

import base64
import io
import zipfile
from urllib.parse import parse_qs, urlsplit

import pytest

from inbox_crm.core.aws import client
from inbox_crm.core.settings import get_settings
from inbox_crm.ingest.pipeline import ingest
from inbox_crm.meta.units import UnitAttachment
from inbox_crm.workspaces import channels
from inbox_local.apigw import lambda_context
from inbox_local.graph_standin import GraphStandIn
from support.api import ApiClient, Reply
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
        "time": "2026-01-01T00:00:00Z",
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
    assert _disposition(attachment["download_url"]).startswith("attachment;")  # never rendered inline
    assert attachment["size"] > 0


def test_a_failed_copy_keeps_the_message_and_raises_for_a_retry(
    voice_note: dict, graph: GraphStandIn
) -> None:
    from inbox_crm.media.storage import copy_message_media
    from inbox_crm.meta.graph import GraphError

    graph.fail(status=500, error={"code": 2, "message": "down"}, method="GET", times=5)
    detail = voice_note["detail"]
    with pytest.raises(GraphError):
        copy_message_media("ws_alpha", detail["conversation_id"], detail["message_sk"], WA_NUMBER)
    graph.clear_failures()
    assert copy_message_media("ws_alpha", detail["conversation_id"], detail["message_sk"], WA_NUMBER) == 1


def _disposition(url: str) -> str:
    return parse_qs(urlsplit(url).query)["response-content-disposition"][0]


def _upload(api: ApiClient, filename: str, content_type: str, body: bytes) -> Reply:
    data = base64.b64encode(body).decode()
    return api.post("/v1/uploads", {"filename": filename, "content_type": content_type, "data": data})


def test_upload_then_send_it_as_an_attachment(api: ApiClient, world: World) -> None:
    reply = _upload(api, "cotización junio.pdf", "application/pdf", b"%PDF-1.4 catalogo")
    assert reply.status == 201, reply.text
    upload = reply.json()
    assert upload["type"] == "file"
    assert upload["size"] == len(b"%PDF-1.4 catalogo")
    assert upload["url"].startswith("http")
    assert upload["filename"] == "cotización junio.pdf"  # accents and spaces kept
    # served as a download under its own name, both on the link and on the object itself
    expected = "attachment; filename=\"cotizacion junio.pdf\"; filename*=UTF-8''cotizaci%C3%B3n%20junio.pdf"
    assert _disposition(upload["url"]) == expected
    [stored] = client("s3").list_objects_v2(Bucket=get_settings().media_bucket)["Contents"]
    head = client("s3").head_object(Bucket=get_settings().media_bucket, Key=stored["Key"])
    assert (head["ContentType"], head["ContentDisposition"]) == ("application/pdf", expected)


PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 24
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00"


@pytest.mark.parametrize(
    ("filename", "content_type", "body", "code"),
    [
        ("hola.html", "text/html", b"<!DOCTYPE html><script>alert(1)</script>", "upload_active_content"),
        ("foto.png", "image/png", b"  <html><body onload=steal()>", "upload_active_content"),
        ("factura.pdf", "application/pdf", b"MZ\x90\x00\x03" + b"\x00" * 60, "upload_active_content"),
        ("run.sh", "text/plain", b"#!/bin/sh\nrm -rf /\n", "upload_active_content"),
        (
            "logo.svg",
            "image/svg+xml",
            b'<svg xmlns="http://www.w3.org/2000/svg"><script>x()</script></svg>',
            "upload_active_content",
        ),
        ("logo.svg", "image/png", b'<svg onload="x()"></svg>', "upload_active_content"),
        ("foto.jpg", "image/jpeg", PNG, "upload_type_mismatch"),
        ("nota.txt", "text/plain", b"\x00\x01\x02binary", "upload_type_mismatch"),
        ("datos.zip", "application/zip", b"PK\x03\x04" + b"\x00" * 26, "upload_type_not_allowed"),
        ("x.bin", "application/octet-stream", b"\x00\x01\x02\x03", "upload_type_not_allowed"),
    ],
)
def test_uploads_are_checked_against_their_bytes(
    api: ApiClient, world: World, filename: str, content_type: str, body: bytes, code: str
) -> None:
    reply = _upload(api, filename, content_type, body)
    assert reply.status == 422, reply.text
    assert reply.json()["error"]["code"] == code
    assert "Contents" not in client("s3").list_objects_v2(Bucket=get_settings().media_bucket)


def _docx() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("filename", "declared", "body", "stored_as"),
    [
        ("foto.png", "image/png", PNG, "image/png"),
        ("foto.jpg", "image/jpeg", JPEG, "image/jpeg"),
        ("lista de precios.csv", "text/csv", "código,precio\nPiñata,120\n".encode("cp1252"), "text/csv"),
        ("propuesta.docx", "application/octet-stream", _docx(), None),
        ("sin nombre", "application/octet-stream", b"%PDF-1.7\n", "application/pdf"),
        ("nota de voz.ogg", "audio/ogg", b"OggS\x00\x02" + b"\x00" * 20, "audio/ogg"),
        ("video.mp4", "video/mp4", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 12, "video/mp4"),
    ],
)
def test_accepted_uploads_are_stored_as_what_they_are(
    api: ApiClient, world: World, filename: str, declared: str, body: bytes, stored_as: str | None
) -> None:
    reply = _upload(api, filename, declared, body)
    assert reply.status == 201, reply.text
    [stored] = client("s3").list_objects_v2(Bucket=get_settings().media_bucket)["Contents"]
    head = client("s3").head_object(Bucket=get_settings().media_bucket, Key=stored["Key"])
    docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    assert head["ContentType"] == (stored_as or docx)


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
