"""A raw RFB viewer on a WebSocket (websocket-client): the handshake, a full frame, the handshake's status."""

from __future__ import annotations

import struct

import numpy as np
import websocket  # websocket-client (a jupyter_server dependency)
from PIL import Image


class WSReader:
    """Bytes of an RFB stream that arrive in WebSocket messages of any size."""

    def __init__(self, ws: websocket.WebSocket) -> None:
        self.ws = ws
        self.buffer = bytearray()

    def read(self, n: int) -> bytes:
        while len(self.buffer) < n:
            opcode, data = self.ws.recv_data()
            assert opcode == websocket.ABNF.OPCODE_BINARY, f"WebSocket message of opcode {opcode}: {data[:200]!r}"
            self.buffer += data
        out = bytes(self.buffer[:n])
        del self.buffer[:n]
        return out


def rfb_frame(ws: websocket.WebSocket) -> Image.Image:
    """Be a VNC viewer on an open WebSocket: the RFB 3.8 handshake (security None: the socket is private to the
    server), then one full, non-incremental framebuffer update in raw encoding, as an RGB image. The cursor comes
    as its own pseudo-rectangle (as for the server's own client), not painted into the pixels."""
    r = WSReader(ws)
    version = r.read(12)
    assert version.startswith(b"RFB 003."), version
    ws.send_binary(b"RFB 003.008\n")
    types = r.read(r.read(1)[0])
    assert 1 in types, f"security types {list(types)}"
    ws.send_binary(b"\x01")
    assert struct.unpack(">I", r.read(4))[0] == 0, "security result not OK"
    ws.send_binary(b"\x01")  # ClientInit: shared
    width, height = struct.unpack(">HH", r.read(4))
    r.read(16)  # the server's pixel format: ours is set next
    r.read(struct.unpack(">I", r.read(4))[0])  # desktop name
    # SetPixelFormat: 32 bpp, depth 24, little endian, true colour, 255 each, red at 16, green 8, blue 0
    ws.send_binary(struct.pack(">B3xBBBBHHHBBB3x", 0, 32, 24, 0, 1, 255, 255, 255, 16, 8, 0))
    ws.send_binary(struct.pack(">BxH2i", 2, 2, 0, -239))  # SetEncodings: Raw, Cursor
    ws.send_binary(struct.pack(">BBHHHH", 3, 0, 0, 0, width, height))  # FramebufferUpdateRequest, full
    pixels = np.zeros((height, width, 4), np.uint8)
    covered = np.zeros((height, width), bool)
    while not covered.all():
        kind = r.read(1)[0]
        if kind == 2:  # Bell
            continue
        if kind == 3:  # ServerCutText
            r.read(3)
            r.read(struct.unpack(">I", r.read(4))[0])
            continue
        assert kind == 0, f"unexpected RFB server message {kind}"
        r.read(1)
        (count,) = struct.unpack(">H", r.read(2))
        for _ in range(count):
            x, y, w, h, encoding = struct.unpack(">HHHHi", r.read(12))
            if encoding == 0:
                pixels[y : y + h, x : x + w] = np.frombuffer(r.read(w * h * 4), np.uint8).reshape(h, w, 4)
                covered[y : y + h, x : x + w] = True
            elif encoding == -239:
                r.read(w * h * 4 + (w + 7) // 8 * h)  # cursor image and mask
            else:
                raise AssertionError(f"unexpected encoding {encoding}")
    return Image.fromarray(pixels[:, :, 2::-1].copy(), "RGB")  # B, G, R, X -> R, G, B


def ws_open(url: str, header: list[str] | None = None, cookie: str | None = None) -> websocket.WebSocket:
    """A WebSocket as a browser opens it: with ``Sec-Fetch-Mode: websocket``, which is what lets JupyterHub's
    single-user server read a ``?token=`` in the URL (otherwise refused outside pages)."""
    header = ["Sec-Fetch-Mode: websocket", *(header or [])]
    return websocket.create_connection(url, subprotocols=["binary"], header=header, cookie=cookie, timeout=60)


def ws_status(url: str, header: list[str] | None = None, cookie: str | None = None) -> int:
    """The status of the WebSocket handshake: 101 if it opened (then closed at once), else the refusal's."""
    try:
        ws = ws_open(url, header, cookie)
    except websocket.WebSocketBadStatusException as exc:
        return exc.status_code
    ws.close()
    return 101
