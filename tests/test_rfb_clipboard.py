"""The extended clipboard's codec (jupyter_desktop.rfb.clipboard) with bytes alone; tests/test_rfb.py speaks it
with real TigerVNC and x11vnc servers."""

from __future__ import annotations

import struct
import zlib

import pytest

from jupyter_desktop.errors import RFBProtocolError
from jupyter_desktop.rfb import clipboard


def test_provide_round_trip_with_crlf_and_unicode():
    payload = clipboard.provide("a\nb\r\nc ✓")
    assert clipboard.flags(payload) == (clipboard.PROVIDE, clipboard.TEXT)
    data = zlib.decompressobj().decompress(payload[4:])
    (size,) = struct.unpack_from(">I", data)
    assert data[4 : 4 + size] == "a\r\nb\r\nc ✓\0".encode()  # CRLF on the wire, NUL-terminated
    assert clipboard.read_provide(payload) == "a\nb\nc ✓"


def test_provide_is_a_flushed_unfinished_stream_as_tigervnc_sends():
    """LibVNCServer (x11vnc) hangs up on a finished zlib stream: ours ends with a sync flush, no stream end."""
    body = clipboard.provide("x")[4:]
    assert body.endswith(b"\x00\x00\xff\xff")
    inflate = zlib.decompressobj()
    inflate.decompress(body)
    assert not inflate.eof


def test_message_frames_the_payload_with_a_negative_length():
    payload = clipboard.caps()
    assert clipboard.message(payload) == struct.pack(">B3xi", 6, -8) + payload
    assert clipboard.flags(payload)[0] & clipboard.CAPS and struct.unpack(">I", payload[4:])[0] == clipboard.MAX_TEXT


def test_bad_payloads_are_protocol_errors():
    with pytest.raises(RFBProtocolError, match="malformed"):
        clipboard.flags(b"\x10")
    with pytest.raises(RFBProtocolError, match="corrupt"):
        clipboard.read_provide(struct.pack(">I", clipboard.PROVIDE | clipboard.TEXT) + b"not zlib")
    short = zlib.compress(b"\x00\x00")
    with pytest.raises(RFBProtocolError, match="truncated"):
        clipboard.read_provide(struct.pack(">I", clipboard.PROVIDE | clipboard.TEXT) + short)
    assert clipboard.read_provide(struct.pack(">I", clipboard.PROVIDE) + zlib.compress(b"")) is None  # no text
