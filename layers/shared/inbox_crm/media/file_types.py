"""What an uploaded file really is, read from its first bytes, checked against the type declared.

A declared content type is only a claim: a page saved as ``foto.png`` is still HTML. We accept what
Meta's channels can carry (images, PDF, audio, video, Office documents, plain text) when the bytes
carry that type's signature ("magic number"), and refuse executables, HTML and SVG with scripts
whatever they claim to be. Written here rather than with a library: the signatures we need are a
short table, and the usual pure-Python detectors know nothing of plain text, HTML or scripts in SVG.
"""

from __future__ import annotations

import io
import re
import zipfile

from inbox_crm.core.errors import Unprocessable

# Declared content type -> the detected kinds that satisfy it.
ACCEPTED: dict[str, frozenset[str]] = {
    "image/jpeg": frozenset({"jpeg"}),
    "image/png": frozenset({"png"}),
    "image/gif": frozenset({"gif"}),
    "image/webp": frozenset({"webp"}),
    "application/pdf": frozenset({"pdf"}),
    "audio/mpeg": frozenset({"mp3"}),
    "audio/ogg": frozenset({"ogg"}),
    "audio/opus": frozenset({"ogg"}),
    "audio/aac": frozenset({"aac"}),
    "audio/amr": frozenset({"amr"}),
    "audio/mp4": frozenset({"isobmff"}),
    "audio/x-m4a": frozenset({"isobmff"}),
    "audio/wav": frozenset({"wav"}),
    "audio/x-wav": frozenset({"wav"}),
    "audio/webm": frozenset({"webm"}),
    "video/mp4": frozenset({"isobmff"}),
    "video/3gpp": frozenset({"isobmff"}),
    "video/quicktime": frozenset({"isobmff"}),
    "video/webm": frozenset({"webm"}),
    "application/msword": frozenset({"ole2"}),
    "application/vnd.ms-excel": frozenset({"ole2"}),
    "application/vnd.ms-powerpoint": frozenset({"ole2"}),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": frozenset({"docx"}),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": frozenset({"xlsx"}),
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": frozenset({"pptx"}),
    "text/plain": frozenset({"text"}),
    "text/csv": frozenset({"text"}),
}
UNKNOWN_TYPE = "application/octet-stream"  # what a browser sends when it does not know: detected
# The type a detected kind is stored as when the client did not know it (nor did the file name).
_CANONICAL = {kind: content_type for content_type, kinds in reversed(ACCEPTED.items()) for kind in kinds}

_EXECUTABLES = (
    b"MZ",  # Windows PE
    b"\x7fELF",
    b"\xfe\xed\xfa\xce",  # Mach-O, both byte orders and both word sizes
    b"\xfe\xed\xfa\xcf",
    b"\xce\xfa\xed\xfe",
    b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",  # Mach-O universal / Java class
)
_HTML_START = re.compile(
    rb"<(?:!doctype\s+html|html|head|body|script|iframe|object|embed|meta|style|title|a\s|div|p\b|!--)",
    re.IGNORECASE,
)
_SVG = re.compile(rb"<svg[\s>]", re.IGNORECASE)
_ACTIVE_SVG = re.compile(rb"<script|javascript:|<foreignobject|\son[a-z]+\s*=", re.IGNORECASE)
_CONTROL = re.compile("[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f\x7f]")


class UploadRefused(Unprocessable):
    def __init__(self, code: str, message: str, details: dict[str, object]) -> None:
        super().__init__(message, details)
        self.code = code


def checked_type(declared: str, body: bytes, guessed: str | None = None) -> str:
    """The content type to store the file as: the declared one if the bytes are of that type (for
    ``application/octet-stream``: the file name's guess, else what the bytes are). Raises
    UploadRefused: ``upload_active_content``, ``upload_type_not_allowed`` or ``upload_type_mismatch``."""
    active = _active_content(body)
    if active is not None:
        raise UploadRefused(
            "upload_active_content",
            "Executables, web pages and scripts cannot be uploaded",
            {"detected": active},
        )
    kind = detect(body)
    if declared == UNKNOWN_TYPE:
        if guessed in ACCEPTED and kind in ACCEPTED[guessed]:
            return guessed
        if kind in _CANONICAL:
            return _CANONICAL[kind]
    if declared not in ACCEPTED:
        raise UploadRefused(
            "upload_type_not_allowed",
            "This type of file cannot be sent",
            {"content_type": declared, "allowed": sorted(ACCEPTED)},
        )
    if kind not in ACCEPTED[declared]:
        raise UploadRefused(
            "upload_type_mismatch",
            "The file's contents are not of the declared type",
            {"content_type": declared, "detected": _CANONICAL.get(kind or "")},
        )
    return declared


def detect(body: bytes) -> str | None:
    """The kind of file the bytes are (a key of _CANONICAL), or None."""
    head = body[:16]
    signatures = (
        (head.startswith(b"\xff\xd8\xff"), "jpeg"),
        (head.startswith(b"\x89PNG\r\n\x1a\n"), "png"),
        (head[:6] in (b"GIF87a", b"GIF89a"), "gif"),
        (head[:4] == b"RIFF" and head[8:12] == b"WEBP", "webp"),
        (head[:4] == b"RIFF" and head[8:12] == b"WAVE", "wav"),
        (head.startswith(b"%PDF-"), "pdf"),
        (head.startswith(b"OggS"), "ogg"),
        (head.startswith(b"#!AMR"), "amr"),
        (head[4:8] == b"ftyp", "isobmff"),
        (head.startswith(b"\x1a\x45\xdf\xa3"), "webm"),
        (head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"), "ole2"),
        (head.startswith(b"ID3"), "mp3"),
        (len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0, "aac"),  # ADTS frame
        (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0, "mp3"),  # MPEG audio frame
    )
    for matches, kind in signatures:
        if matches:
            return kind
    if head.startswith(b"PK\x03\x04"):
        return _office_zip(body)
    return "text" if _is_text(body) else None


def _office_zip(body: bytes) -> str | None:
    try:
        names = set(zipfile.ZipFile(io.BytesIO(body)).namelist())
    except (zipfile.BadZipFile, ValueError):
        return None
    parts = {"word/document.xml": "docx", "xl/workbook.xml": "xlsx", "ppt/presentation.xml": "pptx"}
    return next((kind for part, kind in parts.items() if part in names), None)


def _is_text(body: bytes) -> bool:
    for encoding in ("utf-8-sig", "cp1252"):  # spreadsheets exported on Windows are often cp1252
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError:
            continue
        return not _CONTROL.search(text)
    return False


def _active_content(body: bytes) -> str | None:
    if body.startswith(_EXECUTABLES) or (body.startswith(b"#!") and not body.startswith(b"#!AMR")):
        return "executable"
    if detect(body[:16]) not in (None, "text"):
        return None  # a binary format's signature: not markup
    start = body[:4096].lstrip(b"\xef\xbb\xbf \t\r\n\f")
    if _SVG.search(start):
        return "svg_script" if _ACTIVE_SVG.search(body) else None
    if _HTML_START.match(start):
        return "html"
    return None
