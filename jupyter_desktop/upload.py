"""Files dragged onto the notebook widget, the kernel's side: the view (js/src/upload.js, CommUploads) sends each
file through the widget's comm in chunks; this assembles it, bounded, and writes it with ``desktop.files.write`` to
the desktop user's ``~/Desktop/<name>`` (``<name> (1).<ext>`` ... when the name is taken), whether the desktop lives
in this kernel or in the Jupyter server.

The messages, all ``{"type": "upload", "op", "id"}``:
  view -> kernel: start ``{name, size}``; chunk ``{offset}`` with one binary buffer; end; abort
  kernel -> view: ack ``{received}`` (after start and each chunk); done ``{name, path}``; error ``{message}``
Checked here again, whatever the browser checked: the name (no ``/``, no NUL, not empty), the size (at most
``MAX_FILE``, refused at start), chunks in order and never past the size announced, view-only, at most
``MAX_PENDING`` files assembling at once (the oldest is dropped past it: a view that went away mid-upload). Nothing
is written before the last byte is in: a refusal leaves no half-written file.
"""

from __future__ import annotations

import posixpath
from collections import OrderedDict
from collections.abc import Callable, Collection
from typing import Any

from .errors import ExistingFileError, InputLimitError, InvalidInputError
from .session import MAX_FILE

__all__ = ["Uploads", "check_name", "free_name", "FOLDER", "MAX_PENDING"]

FOLDER = "Desktop"  # relative to the desktop user's home
SHOWN_FOLDER = "~/Desktop"
MAX_PENDING = 2  # files being assembled at once, per view: at most MAX_PENDING * MAX_FILE bytes held
MAX_TRIES = 20  # names tried when the free one is taken between the listing and the write
NAME_BYTES = 255  # a file name's bytes on Linux (NAME_MAX)


def check_name(name: Any) -> str:
    """A dropped file's name as it will be on the desktop: one path component."""
    if not isinstance(name, str) or not name:
        raise InvalidInputError("a file to upload needs a name")
    if "/" in name or "\0" in name:
        raise InvalidInputError(f"a file's name cannot hold / or NUL: {name!r:.200}")
    if name in (".", ".."):
        raise InvalidInputError(f"{name!r} is not a file's name")
    if len(name.encode("utf-8", "surrogatepass")) > NAME_BYTES:
        raise InvalidInputError(f"a file's name is at most {NAME_BYTES} bytes: {name!r:.80}...")
    return name


def free_name(name: str, taken: Collection[str]) -> str:
    """``name``, or ``name (1).ext``, ``name (2).ext`` ...: the first not in ``taken``."""
    if name not in taken:
        return name
    dot = name.rfind(".")
    stem, ext = (name[:dot], name[dot:]) if dot > 0 else (name, "")
    n = 1
    while f"{stem} ({n}){ext}" in taken:
        n += 1
    return f"{stem} ({n}){ext}"


class _Upload:
    def __init__(self, name: str, size: int) -> None:
        self.name = name
        self.size = size
        self.data = bytearray()


class Uploads:
    """One view's uploads. ``files``: the desktop's :class:`~jupyter_desktop.desktop.Files`; ``reply(content)`` sends
    to the view; ``view_only()``: the view only watches (uploads refused)."""

    def __init__(self, files: Any, reply: Callable[[dict[str, Any]], None], view_only: Callable[[], bool]) -> None:
        self._files = files
        self._reply = reply
        self._view_only = view_only
        self._pending: OrderedDict[str, _Upload] = OrderedDict()

    def handle(self, content: dict[str, Any], buffers: list[Any]) -> None:
        upload_id = content.get("id")
        if not isinstance(upload_id, str) or not upload_id or len(upload_id) > 100:
            return  # nothing to answer to
        op = content.get("op")
        try:
            if op == "start":
                self._start(upload_id, content)
            elif op == "chunk":
                self._chunk(upload_id, content, buffers)
            elif op == "end":
                self._end(upload_id)
            elif op == "abort":
                self._pending.pop(upload_id, None)
        except Exception as exc:  # the view says why; nothing was written
            self._pending.pop(upload_id, None)
            self._reply({"op": "error", "id": upload_id, "message": str(exc) or type(exc).__name__})

    def _start(self, upload_id: str, content: dict[str, Any]) -> None:
        if self._view_only():
            raise InvalidInputError("view only: turn it off to upload files to the desktop")
        name = check_name(content.get("name"))
        size = content.get("size")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise InvalidInputError(f"size must be a number of bytes, not {size!r:.40}")
        if size > MAX_FILE:
            raise InputLimitError(f"{name} is {size} bytes; a file is at most {MAX_FILE >> 20} MiB (MAX_FILE)")
        if upload_id in self._pending:
            raise InvalidInputError(f"upload {upload_id} is under way already")
        while len(self._pending) >= MAX_PENDING:  # a view that went away mid-upload: its bytes go
            self._pending.popitem(last=False)
        self._pending[upload_id] = _Upload(name, size)
        self._reply({"op": "ack", "id": upload_id, "received": 0})

    def _chunk(self, upload_id: str, content: dict[str, Any], buffers: list[Any]) -> None:
        upload = self._pending.get(upload_id)
        if upload is None:
            raise InvalidInputError("no such upload (it was refused, or dropped for a newer one)")
        if content.get("offset") != len(upload.data):
            raise InvalidInputError(f"chunk at {content.get('offset')!r:.40}, expected {len(upload.data)}")
        n = sum(memoryview(b).nbytes for b in buffers)
        if len(upload.data) + n > upload.size:
            raise InvalidInputError(f"{upload.name}: more bytes than the {upload.size} announced")
        for b in buffers:
            upload.data += memoryview(b).cast("B")
        self._reply({"op": "ack", "id": upload_id, "received": len(upload.data)})

    def _end(self, upload_id: str) -> None:
        upload = self._pending.pop(upload_id, None)
        if upload is None:
            raise InvalidInputError("no such upload (it was refused, or dropped for a newer one)")
        if len(upload.data) != upload.size:
            raise InvalidInputError(f"{upload.name}: {len(upload.data)} bytes came of the {upload.size} announced")
        try:
            taken = {e["name"] for e in self._files.list(FOLDER)}
        except InvalidInputError:  # no ~/Desktop yet: write creates it
            taken = set()
        for _ in range(MAX_TRIES):  # exclusive: a file of that name made since the listing is never replaced
            name = free_name(upload.name, taken)
            try:
                self._files.write(posixpath.join(FOLDER, name), bytes(upload.data), parents=True, exclusive=True)
                break
            except ExistingFileError:
                taken.add(name)
        else:
            raise ExistingFileError(f"{upload.name}: {MAX_TRIES} free names in {SHOWN_FOLDER} were taken meanwhile")
        self._reply({"op": "done", "id": upload_id, "name": name, "path": f"{SHOWN_FOLDER}/{name}"})

    def clear(self) -> None:
        self._pending.clear()
