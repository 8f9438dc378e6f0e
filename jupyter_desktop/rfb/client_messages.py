"""What a viewer sends its VNC server, followed message by message (RFC 6143 §7.5 and the community extensions).

The server's WebSocket proxy passes a browser's bytes on untouched; :class:`ClientStream` reads along and says
when the viewer sent *input* — a key, a pointer event, pasted text — as opposed to the traffic every connected
viewer sends by itself (update requests, encodings, fences, resizes as its window changes size). A person at a
viewer is using the desktop; a forgotten tab is not.

A message it does not know makes the rest of the stream opaque: from then on every chunk counts as input, so
that a viewer in use is never taken for an idle one.
"""

from __future__ import annotations

import struct
from collections.abc import Callable

__all__ = ["ClientStream", "INPUT"]

KEY_EVENT, POINTER_EVENT, CLIENT_CUT_TEXT, QEMU = 4, 5, 6, 255
INPUT = {KEY_EVENT: "key", POINTER_EVENT: "pointer", CLIENT_CUT_TEXT: "clipboard"}


def _length(kind: int, data: bytes | bytearray) -> int | None:
    """The whole length of the message starting ``data``, None until enough of it is there; -1: unknown."""

    def need(n: int) -> bool:
        return len(data) >= n

    if kind == 0:  # SetPixelFormat
        return 20
    if kind == 2:  # SetEncodings
        return 4 + 4 * struct.unpack_from(">H", data, 2)[0] if need(4) else None
    if kind == 3:  # FramebufferUpdateRequest
        return 10
    if kind == KEY_EVENT:
        return 8
    if kind == POINTER_EVENT:
        return 6
    if kind == CLIENT_CUT_TEXT:  # a negative length is the extended clipboard's
        return 8 + abs(struct.unpack_from(">i", data, 4)[0]) if need(8) else None
    if kind == 150:  # EnableContinuousUpdates
        return 10
    if kind == 248:  # ClientFence
        return 9 + data[8] if need(9) else None
    if kind == 250:  # xvp
        return 4
    if kind == 251:  # SetDesktopSize
        return 8 + 16 * data[6] if need(8) else None
    if kind == QEMU:  # subtype 0: extended key event, as noVNC sends to TigerVNC
        return (12 if data[1] == 0 else -1) if need(2) else None
    return -1


class ClientStream:
    """Feed it the viewer's bytes in order; ``on_input(kind)`` is called for each input message
    ("key", "pointer", "clipboard"; "opaque" for data it could not follow)."""

    def __init__(self, on_input: Callable[[str], None]) -> None:
        self.on_input = on_input
        self.buffer = bytearray()
        self.stage = "version"  # version -> security -> (auth) -> init -> messages | opaque
        self.security_byte = True

    def feed(self, data: bytes | bytearray | memoryview) -> None:
        if self.stage == "opaque":
            self.on_input("opaque")
            return
        self.buffer += data
        while self.buffer:
            if not self._step():
                return

    def _take(self, n: int) -> bytes | None:
        if len(self.buffer) < n:
            return None
        out = bytes(self.buffer[:n])
        del self.buffer[:n]
        return out

    def _opaque(self) -> bool:
        self.stage = "opaque"
        self.buffer.clear()
        self.on_input("opaque")
        return False

    def _step(self) -> bool:
        """Consume one unit; False when more bytes are needed (or the stream went opaque)."""
        if self.stage == "version":
            version = self._take(12)
            if version is None:
                return False
            if not version.startswith(b"RFB 003."):
                return self._opaque()
            self.security_byte = version[8:11] != b"003"  # 3.3: the server picks the security type
            self.stage = "security" if self.security_byte else "init"
            return True
        if self.stage == "security":
            chosen = self._take(1)
            if chosen is None:
                return False
            if chosen[0] == 1:  # None
                self.stage = "init"
            elif chosen[0] == 2:  # VNC password: a 16-byte response
                self.stage = "auth"
            else:
                return self._opaque()
            return True
        if self.stage == "auth":
            if self._take(16) is None:
                return False
            self.stage = "init"
            return True
        if self.stage == "init":
            if self._take(1) is None:  # ClientInit
                return False
            self.stage = "messages"
            return True
        kind = self.buffer[0]
        length = _length(kind, self.buffer)
        if length == -1:
            return self._opaque()
        if length is None or len(self.buffer) < length:
            return False
        self._message(kind, length)
        return True

    def _message(self, kind: int, length: int) -> None:
        """One whole client message, ``length`` bytes at the head of the buffer: note input, let it go."""
        del self.buffer[:length]
        if kind in INPUT or kind == QEMU:
            self.on_input(INPUT.get(kind, "key"))
