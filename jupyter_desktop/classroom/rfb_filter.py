"""A viewer's RFB stream with its input taken out: what a view-only seat in the class page may send.

:class:`ViewerFilter` follows the stream message by message (the same reading as ``ClientStream``, which the
students' servers use to tell use from idle traffic) and passes on everything a viewer needs to *see* the screen
(the handshake, pixel format, encodings, update requests, fences, continuous updates) but, unless input is allowed,
none of the messages that act on the desktop: key and pointer events, QEMU extended keys, pasted text
(ClientCutText), SetDesktopSize (it would resize the student's screen) and xvp (shutdown/reboot requests).

The ClientInit byte is forced to "shared" in both modes: a viewer asking for an exclusive session would make the
VNC server disconnect everyone else, the student included.

A message it cannot follow makes the rest of the stream unreadable: with input allowed the bytes then pass as
they are (as through the students' own servers); view-only, :meth:`ViewerFilter.filter` returns None and the
connection must be closed, since input could hide in what follows.
"""

from __future__ import annotations

from ..rfb.client_messages import CLIENT_CUT_TEXT, KEY_EVENT, POINTER_EVENT, QEMU, ClientStream

__all__ = ["ViewerFilter", "ACTING"]

XVP, SET_DESKTOP_SIZE = 250, 251
ACTING = frozenset({KEY_EVENT, POINTER_EVENT, CLIENT_CUT_TEXT, QEMU, XVP, SET_DESKTOP_SIZE})


class ViewerFilter(ClientStream):
    def __init__(self, allow_input: bool) -> None:
        super().__init__(lambda kind: None)
        self.allow_input = allow_input
        self.dropped = 0  # messages held back
        self._out = bytearray()

    def filter(self, data: bytes | bytearray | memoryview) -> bytes | None:
        """What of ``data`` goes on to the desktop (possibly b""); None: close the connection (view-only and the
        stream can no longer be followed)."""
        if self.stage == "opaque":
            return bytes(data) if self.allow_input else None
        self._out = bytearray()
        self.feed(data)
        if self.stage == "opaque" and not self.allow_input:
            return None
        return bytes(self._out)

    def _take(self, n: int) -> bytes | None:
        stage = self.stage
        out = super()._take(n)
        if out is not None:
            if stage == "init":  # ClientInit: always a shared session
                out = b"\x01"
            self._out += out
        return out

    def _opaque(self) -> bool:
        if self.allow_input:
            self._out += self.buffer  # the bytes it could not follow still go on
        return super()._opaque()

    def _message(self, kind: int, length: int) -> None:
        message = bytes(self.buffer[:length])
        del self.buffer[:length]
        if kind in ACTING and not self.allow_input:
            self.dropped += 1
        else:
            self._out += message
