"""RFB's extended clipboard (UTF-8 text, zlib-compressed, as TigerVNC and noVNC speak it): the bytes alone.

A ServerCutText / ClientCutText whose length is negative carries ``-length`` bytes: 4 bytes of flags (the action
in the high byte, the formats in the low 16 bits), then the action's data. The client (``client.py``) keeps the
conversation's state; this module only encodes and decodes.
"""

from __future__ import annotations

import struct
import zlib

from ..errors import RFBProtocolError

__all__ = [
    "TEXT", "CAPS", "REQUEST", "PEEK", "NOTIFY", "PROVIDE", "MAX_TEXT",
    "message", "flags", "caps", "provide", "read_provide",
]  # fmt: skip

TEXT = 1
CAPS = 1 << 24
REQUEST = 1 << 25
PEEK = 1 << 26
NOTIFY = 1 << 27
PROVIDE = 1 << 28
MAX_TEXT = 16 * 1024 * 1024


def message(payload: bytes) -> bytes:
    """A ClientCutText carrying an extended-clipboard ``payload`` (flags first)."""
    return struct.pack(">B3xi", 6, -len(payload)) + payload


def flags(payload: bytes) -> tuple[int, int]:
    """(actions, formats) of a payload."""
    if len(payload) < 4:
        raise RFBProtocolError(f"malformed extended clipboard message of {len(payload)} bytes")
    (value,) = struct.unpack_from(">I", payload)
    return value & 0xFF000000, value & 0xFFFF


def caps() -> bytes:
    """Our capabilities: text only, up to MAX_TEXT bytes, every action."""
    return struct.pack(">II", CAPS | REQUEST | PEEK | NOTIFY | PROVIDE | TEXT, MAX_TEXT)


def provide(text: str) -> bytes:
    """The payload that provides ``text``: CRLF line ends, a NUL at the end, zlib as TigerVNC sends it (a flushed,
    unfinished stream: LibVNCServer treats the Z_STREAM_END of a finished stream as an error and hangs up)."""
    data = (text.replace("\r\n", "\n").replace("\n", "\r\n") + "\0").encode("utf-8")
    deflate = zlib.compressobj()
    body = deflate.compress(struct.pack(">I", len(data)) + data) + deflate.flush(zlib.Z_SYNC_FLUSH)
    return struct.pack(">I", PROVIDE | TEXT) + body


def read_provide(payload: bytes) -> str | None:
    """The text a PROVIDE payload carries (None when it carries no text), with LF line ends."""
    _actions, formats = flags(payload)
    try:
        data = zlib.decompressobj().decompress(payload[4:], MAX_TEXT + 8)
    except zlib.error as exc:
        raise RFBProtocolError(f"the VNC server sent corrupt clipboard data: {exc}") from None
    if not formats & TEXT:
        return None
    if len(data) < 4:
        raise RFBProtocolError("the VNC server sent a truncated clipboard message")
    (size,) = struct.unpack_from(">I", data)
    return data[4 : 4 + size].decode("utf-8", "replace").rstrip("\0").replace("\r\n", "\n")
