"""Streaming form uploads: photos go straight to temp files as they arrive, an oversize body is
refused before it is read, and nothing is left on disk once the request ends.

Tornado checks XSRF before ``prepare``, before any of the body arrives, so a plain HTML form's
``_xsrf`` field is not visible then: without an ``X-XSRFToken`` header the check waits until
the body is parsed, and ``post()`` runs only if it passes. Tornado's body timeout is a single
deadline for the whole body, not an idle timeout, so it is scaled to the declared length.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import socket
import ssl
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, ClassVar

import tornado.web
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from tornagram.errors import UserError

log = logging.getLogger(__name__)

MIB = 1024 * 1024
# Every file part is streamed to <tmp_dir>/upload-….part and removed before the response.
UPLOAD_PART_PREFIX = "upload-"
UPLOAD_PART_SUFFIX = ".part"
# A part older than this belongs to no request still running (even a 260 MB body at the slowest
# rate we serve finishes well within it), so a crash left it: sweeps remove it.
STALE_UPLOAD_PART_SECS = 6 * 3600
# A part's boundary line and headers: a long (CJK) filename and a Content-Type fit easily.
PART_OVERHEAD_BYTES = 8 * 1024
# About 128 kbit/s: the slowest connection we still want an upload to finish on.
SLOWEST_UPLOAD_BYTES_PER_SEC = 16 * 1024
BODY_TIMEOUT_FLOOR_SECS = 60
MAX_PART_HEADERS = 8  # browsers send two: Content-Disposition and Content-Type
XSRF_HEADERS = ("X-Xsrftoken", "X-Csrftoken")
# After refusing a body mid-stream, how long we keep discarding what the client still sends.
LINGER_SECS = 5

UPLOAD_ERROR_MESSAGES = {
    "file_too_large": "The file is too large. The limit is %(mb)d MB per photo.",
    "body_too_large": "The upload is too large: at most %(count)d photos of %(mb)d MB each.",
    "too_many_files": "You can upload at most %(count)d photos at a time.",
    "too_many_fields": "The form has too many fields.",
    "field_too_long": "A text field is too long. The limit is %(kb)d KB.",
    "invalid_text": "Some text in the form could not be read. Please check it and try again.",
    "malformed": "The upload could not be read. Please try again.",
}


class UploadRefused(tornado.web.HTTPError, UserError):
    """An upload we will not take. Also a UserError so pages show the translated message."""

    status = 400

    def __init__(self, reason: str, **params: int) -> None:
        tornado.web.HTTPError.__init__(self, self.status, "upload refused: %s %s", reason, params)
        self.reason_key = reason
        self.message = UPLOAD_ERROR_MESSAGES[reason]
        self.field = None
        self.params = params


class UploadTooLarge(UploadRefused):
    status = 413


class BadUpload(UploadRefused):
    status = 400


def _whole_mb(size_bytes: int) -> int:
    return max(1, round(size_bytes / MIB))


@dataclass(frozen=True, slots=True)
class UploadLimits:
    max_file_bytes: int = 25 * MIB
    max_files: int = 10
    max_field_bytes: int = 16 * 1024  # any single text field
    max_fields: int = 64

    def __post_init__(self) -> None:
        if min(self.max_file_bytes, self.max_files, self.max_field_bytes, self.max_fields) < 1:
            raise ValueError("upload limits must be positive")

    @property
    def max_body_bytes(self) -> int:
        fields = self.max_fields * (self.max_field_bytes + PART_OVERHEAD_BYTES)
        return self.max_files * (self.max_file_bytes + PART_OVERHEAD_BYTES) + fields


@dataclass(slots=True)
class UploadedFile:
    field: str
    filename: str  # as the client claimed; never trusted for type decisions
    content_type: str  # likewise
    path: Path  # a closed temp file, deleted when the request ends (move it to keep it)
    size: int

    def read_bytes(self) -> bytes:
        """Blocking: call it from an executor for anything but small files."""
        return self.path.read_bytes()


@dataclass(slots=True)
class ParsedForm:
    fields: dict[str, list[str]] = field(default_factory=dict)
    files: dict[str, list[UploadedFile]] = field(default_factory=dict)

    def get(self, name: str, default: str = "") -> str:
        values = self.fields.get(name)
        return values[-1] if values else default  # the last one wins, as in Tornado

    def get_all(self, name: str) -> list[str]:
        return list(self.fields.get(name, ()))


# What Tornado's get_argument replaces with a space in every ordinary form field (C0 controls
# but tab, newline, vertical tab, form feed and carriage return). A streamed form bypasses it,
# so its fields are cleaned here the same way: a NUL is refused by PostgreSQL, and no other
# control character belongs in a caption either.
_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0e-\x1f]")


def _text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadUpload("invalid_text") from None


def clean_field(value: str) -> str:
    return _CONTROL_CHARS.sub(" ", value)


class _FormReceiver:
    """Feeds python-multipart and routes each part: text to a bounded buffer, files to disk."""

    def __init__(self, limits: UploadLimits, tmp_dir: Path, boundary: bytes, length: int):
        self.limits = limits
        self.tmp_dir = tmp_dir
        self.expected = length
        self.received = 0
        self.form = ParsedForm()
        self.raw_fields: list[tuple[str, bytes]] = []
        self.paths: list[Path] = []
        self.ended = False
        self._counts = {"files": 0, "fields": 0}
        self._headers: dict[bytes, bytes] = {}
        self._header = [bytearray(), bytearray()]
        self._name = self._filename = self._content_type = ""
        self._file: IO[bytes] | None = None
        self._text: bytearray | None = None
        self._size = 0
        callbacks: Any = {
            "on_part_begin": self._headers.clear,
            "on_header_field": self._collector(self._header[0]),
            "on_header_value": self._collector(self._header[1]),
            "on_header_end": self._on_header_end,
            "on_headers_finished": self._on_headers_finished,
            "on_part_data": self._on_part_data,
            "on_part_end": self._on_part_end,
            "on_end": self._on_end,
        }
        try:
            self.parser = MultipartParser(boundary, callbacks)
        except FormParserError:
            raise BadUpload("malformed") from None

    def feed(self, chunk: bytes) -> None:
        self.received += len(chunk)
        try:
            self.parser.write(chunk)
        except FormParserError:
            raise BadUpload("malformed") from None

    @staticmethod
    def _collector(buffer: bytearray) -> Any:
        # Our own bound on part headers, whatever the parser version enforces.
        def collect(data: bytes, start: int, end: int) -> None:
            buffer.extend(memoryview(data)[start:end])
            if len(buffer) > PART_OVERHEAD_BYTES:
                raise BadUpload("malformed")

        return collect

    def _on_header_end(self) -> None:
        name, value = self._header
        self._headers[bytes(name).lower()] = bytes(value).strip(b" \t")
        name.clear()
        value.clear()
        if len(self._headers) > MAX_PART_HEADERS:
            raise BadUpload("malformed")

    def _count(self, kind: str, limit: int, reason: str) -> None:
        self._counts[kind] += 1
        if self._counts[kind] > limit:
            raise BadUpload(reason, count=limit)

    def _on_headers_finished(self) -> None:
        disposition, params = parse_options_header(self._headers.get(b"content-disposition"))
        if disposition != b"form-data" or b"name" not in params:
            raise BadUpload("malformed")
        self._name = _text(params[b"name"])
        self._size = 0
        filename = params.get(b"filename")
        if filename:
            self._count("files", self.limits.max_files, "too_many_files")
            self._filename = filename.decode("utf-8", errors="replace")
            content_type = self._headers.get(b"content-type", b"application/octet-stream")
            self._content_type = content_type.decode("latin-1")
            self._file = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed at part end
                mode="wb",
                dir=self.tmp_dir,
                prefix=UPLOAD_PART_PREFIX,
                suffix=UPLOAD_PART_SUFFIX,
                delete=False,
            )
            self.paths.append(Path(self._file.name))
        else:
            self._count("fields", self.limits.max_fields, "too_many_fields")
            # An empty file input still sends a part (filename=""): nothing was chosen, skip it.
            self._text = bytearray() if filename is None else None

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        self._size += end - start
        if self._file is not None:
            if self._size > self.limits.max_file_bytes:
                raise UploadTooLarge("file_too_large", mb=_whole_mb(self.limits.max_file_bytes))
            self._file.write(memoryview(data)[start:end])
        elif self._text is not None:
            if self._size > self.limits.max_field_bytes:
                raise BadUpload("field_too_long", kb=self.limits.max_field_bytes // 1024)
            self._text += memoryview(data)[start:end]

    def _on_part_end(self) -> None:
        if self._file is not None:
            self._file.close()
            upload = UploadedFile(
                self._name, self._filename, self._content_type, Path(self._file.name), self._size
            )
            self._file = None
            self.form.files.setdefault(self._name, []).append(upload)
        elif self._text is not None:
            raw = bytes(self._text)
            self._text = None
            value = clean_field(_text(raw))
            self.form.fields.setdefault(self._name, []).append(value)
            self.raw_fields.append((self._name, value.encode()))

    def _on_end(self) -> None:
        self.ended = True

    def discard(self) -> None:
        if self._file is not None:
            with contextlib.suppress(OSError):
                self._file.close()
            self._file = None
        kept = []
        for path in self.paths:
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                # Never let this cut the answer: the sweep at start-up and in gc-media removes it.
                log.warning("could not remove upload temp file %s: %s", path, exc)
                kept.append(path)
        self.paths[:] = kept


def remove_stale_upload_parts(
    tmp_dir: Path, older_than_secs: float = STALE_UPLOAD_PART_SECS
) -> int:
    """Delete upload temp files a crash left in ``tmp_dir``; returns how many were removed.

    Blocking (a directory listing): call it through a thread from the event loop.
    """
    cutoff = time.time() - older_than_secs
    removed = 0
    for path in Path(tmp_dir).glob(f"{UPLOAD_PART_PREFIX}*{UPLOAD_PART_SUFFIX}"):
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except FileNotFoundError:
            pass
        except OSError as exc:
            log.warning("could not remove stale upload temp file %s: %s", path, exc)
    return removed


async def _drain_then_close(flushed: asyncio.Future, spare: socket.socket) -> None:
    """Closing a socket with unread input makes the kernel send a reset, which can destroy the
    response on its way (the 413 becomes "connection reset"). Tornado closes its handle once the
    response is written; this duplicate keeps the connection up, sends a FIN, and discards what
    the client still sends for a few seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + LINGER_SECS
    buffer = bytearray(64 * 1024)
    try:
        await asyncio.wait({flushed}, timeout=LINGER_SECS)
        if not flushed.done() or flushed.exception() is not None:
            return  # the response is stuck or the client is gone: nothing to protect
        spare.shutdown(socket.SHUT_WR)
        while await asyncio.wait_for(
            loop.sock_recv_into(spare, buffer), max(0.0, deadline - loop.time())
        ):
            pass
    except (OSError, TimeoutError):
        pass
    finally:
        spare.close()


class StreamingFormMixin:
    """For handlers decorated with ``@tornado.web.stream_request_body`` (POST only).

    Give the limits and the temp dir as attributes or by overriding the ``get_`` methods.
    """

    upload_limits: UploadLimits = UploadLimits()
    upload_tmp_dir: Path | None = None

    # Class-level defaults: Tornado calls check_xsrf_cookie, and may call on_finish or
    # on_connection_close, before prepare has run.
    _receiver: _FormReceiver | None = None
    _upload_error: BaseException | None = None
    _parsed_form: ParsedForm | None = None
    _xsrf_deferred = False
    _answered_in_body = False
    _lingering: ClassVar[set[asyncio.Task]] = set()  # strong references while they run

    def get_upload_limits(self) -> UploadLimits:
        return self.upload_limits

    def get_upload_tmp_dir(self) -> Path:
        if self.upload_tmp_dir is None:
            raise RuntimeError(f"{type(self).__name__} must set upload_tmp_dir")
        return self.upload_tmp_dir

    def check_xsrf_cookie(self) -> None:
        request = self.request
        has_header = any(request.headers.get(name) for name in XSRF_HEADERS)
        if request.method == "POST" and self._parsed_form is None and not has_header:
            self._xsrf_deferred = True  # checked in data_received once the body is parsed
            return
        super().check_xsrf_cookie()

    async def prepare(self) -> None:
        result = super().prepare()
        if result is not None:
            await result
        if self._finished or self.request.method != "POST":
            return
        headers = self.request.headers
        content_type, options = parse_options_header(headers.get("Content-Type"))
        boundary = options.get(b"boundary")
        # A compressed body's length says nothing about what we would store (browsers never).
        compressed = "Content-Encoding" in headers or "X-Consumed-Content-Encoding" in headers
        if content_type != b"multipart/form-data" or not boundary or compressed:
            raise BadUpload("malformed")
        # Browsers always send a length for a form; a chunked body cannot be refused up front.
        length = headers.get("Content-Length", "")
        if not (length.isascii() and length.isdigit()) or int(length) == 0:
            raise BadUpload("malformed")
        limits = self.get_upload_limits()
        if int(length) > limits.max_body_bytes:
            # Tornado answers and closes the connection without reading the body.
            mb = _whole_mb(limits.max_file_bytes)
            raise UploadTooLarge("body_too_large", count=limits.max_files, mb=mb)
        connection = self.request.connection
        connection.set_max_body_size(limits.max_body_bytes)
        connection.set_body_timeout(
            BODY_TIMEOUT_FLOOR_SECS + int(length) / SLOWEST_UPLOAD_BYTES_PER_SEC
        )
        tmp_dir = self.get_upload_tmp_dir()
        tmp_dir.mkdir(parents=True, exist_ok=True)
        self._receiver = _FormReceiver(limits, tmp_dir, boundary, int(length))

    def data_received(self, chunk: bytes) -> None:
        # Written synchronously: at most 64 KiB into the page cache, cheaper than a thread hop.
        receiver = self._receiver
        if receiver is None or self._upload_error is not None or self._finished:
            return  # after an error the rest of the body is dropped
        try:
            receiver.feed(chunk)
            # With a known length, the last chunk always arrives here, so post() can only
            # run after this block has passed.
            if receiver.received >= receiver.expected:
                self._complete_form(receiver)
        except Exception as exc:
            self._upload_error = exc
            self._answered_in_body = True
            self.cleanup_uploads()
            # Answer now: finishing while the body is unread makes Tornado close the
            # connection after the response instead of reading the rest, and post() never runs.
            self._handle_request_exception(exc)

    def _complete_form(self, receiver: _FormReceiver) -> None:
        receiver.parser.finalize()
        if not receiver.ended:
            raise BadUpload("malformed")  # the body stopped before the closing boundary
        # Where Tornado keeps form fields, so get_body_argument and check_xsrf_cookie see them.
        for name, raw in receiver.raw_fields:
            self.request.body_arguments.setdefault(name, []).append(raw)
            self.request.arguments.setdefault(name, []).append(raw)
        if self._xsrf_deferred:
            super().check_xsrf_cookie()  # Tornado's own check, now that it can see the field
        self._parsed_form = receiver.form

    @property
    def form(self) -> ParsedForm:
        if self._upload_error is not None:
            raise self._upload_error
        if self._parsed_form is None:
            raise BadUpload("malformed")
        return self._parsed_form

    def cleanup_uploads(self) -> None:
        if self._receiver is not None:
            self._receiver.discard()

    def finish(self, chunk: Any = None) -> Any:
        # post() is done with the files by now: remove them before the answer goes out, so a
        # process that dies after answering leaves nothing behind.
        if not self._finished:
            self.cleanup_uploads()
        spare = None
        if not self._finished and self._answered_in_body and not self._body_unread():
            # Answered from data_received, even on the last chunk: Tornado has not finished
            # reading the request then, so it drops the connection after the response. Say so,
            # or the client sends its next request into a closing socket.
            self.set_header("Connection", "close")
        elif not self._finished and self._body_unread():
            # Tornado will not read the rest of this body, so the connection cannot be reused.
            self.set_header("Connection", "close")
            # Taken now: Tornado may close its own handle inside finish(). TLS cannot share it.
            sock = getattr(getattr(self.request.connection, "stream", None), "socket", None)
            if sock is not None and not isinstance(sock, ssl.SSLSocket):
                with contextlib.suppress(OSError):  # out of descriptors: plain close then
                    spare = sock.dup()
                    spare.setblocking(False)
        flushed = super().finish(chunk)
        if spare is not None:
            task = asyncio.get_running_loop().create_task(_drain_then_close(flushed, spare))
            self._lingering.add(task)
            task.add_done_callback(self._lingering.discard)
        return flushed

    def _body_unread(self) -> bool:
        if self._receiver is not None:
            return self._receiver.received < self._receiver.expected
        headers = self.request.headers
        return headers.get("Content-Length", "0") != "0" or "Transfer-Encoding" in headers

    def on_finish(self) -> None:
        self.cleanup_uploads()
        super().on_finish()

    def on_connection_close(self) -> None:
        # Once the body is complete post() may still be using the files; on_finish follows it.
        if self._parsed_form is None:
            self.cleanup_uploads()
        super().on_connection_close()
