"""The notebook widget's front end, in Python: what widget.js does over the comm."""

from __future__ import annotations

import threading

from jupyter_desktop.widget import DesktopView

from .waiting import eventually


class FakeFrontEnd:
    """What widget.js does over the comm: open a tunnel channel, send bytes, collect what comes back."""

    def __init__(self, view: DesktopView, monkeypatch) -> None:
        self.view = view
        self.received = bytearray()
        self.events: list[dict] = []
        self.lock = threading.Lock()

        def send(content, buffers=None):
            with self.lock:
                self.events.append(content)
                for b in buffers or []:
                    self.received += bytes(b)

        monkeypatch.setattr(view, "send", send)

    def post(self, content: dict, *buffers: bytes) -> None:
        self.view._on_message(self.view, content, list(buffers))

    def read(self, n: int) -> bytes:
        eventually(lambda: len(self.received) >= n, interval=0.02, what=f"{n} bytes through the tunnel")
        with self.lock:
            out = bytes(self.received[:n])
            del self.received[:n]
        return out
