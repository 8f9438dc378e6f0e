"""An asyncio RFB (VNC) client: handshake, a numpy framebuffer mirror, input, clipboard, resize.

It speaks RFB 3.3/3.7/3.8 with the None and VNC-password security types, decodes Raw and CopyRect
(what a unix socket on the same machine wants: no compression to undo), and understands the
DesktopSize, ExtendedDesktopSize, LastRect, Cursor and ExtendedClipboard pseudo-encodings.

The mirror is kept current by always having one incremental update request outstanding: an idle
desktop costs nothing, a changing one streams its damage as it happens. Every read of a message's body
has a timeout; a malformed or truncated message raises :class:`RFBProtocolError`.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass

import numpy as np

from ..errors import RFBAuthError, RFBError, RFBProtocolError
from . import clipboard
from .connect import open_streams, open_websocket_streams

__all__ = ["RFBClient", "Cursor"]

# Encodings (RFC 6143 §7.7 and the community registry).
ENC_RAW = 0
ENC_COPYRECT = 1
PSEUDO_DESKTOP_SIZE = -223
PSEUDO_LAST_RECT = -224
PSEUDO_CURSOR = -239
PSEUDO_EXT_DESKTOP_SIZE = -308
PSEUDO_EXT_CLIPBOARD = -1063131698  # 0xC0A1E5CE as a signed 32-bit number

# Our pixel format: 32 bpp, depth 24, little-endian, true colour, red in the lowest byte, so that the
# bytes in memory are R, G, B, X and a numpy view [..., :3] is RGB with no conversion.
PIXEL_FORMAT = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 0, 8, 16)

RESIZE_ERRORS = {
    1: "the server does not allow clients to resize the desktop",
    2: "the server is out of resources for that size",
    3: "the server rejected the screen layout (size out of range?)",
}

MAX_DIMENSION = 16384


if hasattr(asyncio, "timeout"):
    _deadline = asyncio.timeout
else:  # Python 3.10

    @contextlib.asynccontextmanager
    async def _deadline(delay: float):  # type: ignore[no-redef,misc]
        task = asyncio.current_task()
        assert task is not None
        handle = asyncio.get_running_loop().call_later(delay, task.cancel)
        try:
            yield
        except asyncio.CancelledError:
            raise asyncio.TimeoutError from None
        finally:
            handle.cancel()


class _NotListening(RFBError):
    """Nothing listens there (yet): a server that is still starting, or none at all."""


class _NoGreeting(RFBProtocolError):
    """The server hung up before its first byte (it may still be starting): worth another try."""


@dataclass
class Cursor:
    """The pointer shape the server sent: RGBA pixels and the hotspot inside them."""

    image: np.ndarray  # (h, w, 4) uint8 RGBA
    hotspot: tuple[int, int]


def vnc_auth_response(password: str, challenge: bytes) -> bytes:
    """VNC Authentication's answer to a 16-byte challenge: DES with the password's first 8 characters, each byte's bits
    reversed, as the key (RFC 6143 §7.2.2 and the errata). Only 8 characters count: a longer password is cut."""
    try:
        from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
    except ImportError:  # cryptography < 43
        from cryptography.hazmat.primitives.ciphers.algorithms import TripleDES
    from cryptography.hazmat.primitives.ciphers import Cipher, modes

    key = password.encode("latin-1", "replace")[:8].ljust(8, b"\0")
    key = bytes(int(f"{b:08b}"[::-1], 2) for b in key)  # VNC reverses the bits of each key byte
    encryptor = Cipher(TripleDES(key * 3), modes.ECB()).encryptor()  # 3DES with K1=K2=K3 is DES
    return encryptor.update(challenge) + encryptor.finalize()


async def read_reason(read: Callable[[int], Awaitable[bytes]]) -> str:
    """An RFB string: its length (U32), then as many bytes (at most 64 KiB of them are read)."""
    (length,) = struct.unpack(">I", await read(4))
    return (await read(min(length, 65536))).decode("utf-8", "replace")


async def security_handshake(
    read: Callable[[int], Awaitable[bytes]], write: Callable[[bytes], None], password: str | None
) -> int:
    """The client's side of the RFB handshake up to ClientInit: ProtocolVersion, the security type (None, or VNC
    password when ``password`` is given or the server wants one) and SecurityResult. ``read(n)`` returns exactly n
    bytes or raises RFBProtocolError. Returns the RFB minor version agreed (3, 7 or 8).

    Raises _NoGreeting (the server hung up before its first byte), RFBProtocolError or RFBAuthError."""
    try:
        banner = await read(12)
    except RFBProtocolError as exc:
        raise _NoGreeting(f"the VNC server closed the connection without a greeting ({exc})") from None
    if not (banner.startswith(b"RFB ") and banner[7:8] == b"." and banner.endswith(b"\n")):
        raise RFBProtocolError(f"not a VNC server: it greeted us with {banner!r}")
    try:
        major, minor = int(banner[4:7]), int(banner[8:11])
    except ValueError:
        raise RFBProtocolError(f"malformed RFB version {banner!r}") from None
    if major != 3 or minor < 3:
        raise RFBProtocolError(f"unsupported RFB version {major}.{minor}; this client speaks 3.3 to 3.8")
    minor = 8 if minor >= 8 else 7 if minor >= 7 else 3
    write(b"RFB 003.%03d\n" % minor)

    if minor == 3:
        (sec_type,) = struct.unpack(">I", await read(4))
        if sec_type == 0:
            raise RFBAuthError(f"the VNC server refused the connection: {await read_reason(read)}")
        offered = [sec_type]
    else:
        (count,) = struct.unpack(">B", await read(1))
        if count == 0:
            raise RFBAuthError(f"the VNC server refused the connection: {await read_reason(read)}")
        offered = list(await read(count))
    if 1 in offered and not password:
        sec_type = 1
    elif 2 in offered:
        sec_type = 2
        if not password:
            raise RFBAuthError("the VNC server asks for a password; pass password=...")
    elif 1 in offered:
        sec_type = 1
    else:
        raise RFBAuthError(
            f"the VNC server offers security types {offered}, but this client speaks only "
            "None (1) and VNC password (2); start the server with -SecurityTypes None or VncAuth"
        )
    if minor != 3:
        write(bytes([sec_type]))
    if sec_type == 2:
        challenge = await read(16)
        write(vnc_auth_response(password or "", challenge))
    if sec_type == 2 or minor == 8:
        try:
            (result,) = struct.unpack(">I", await read(4))
            reason = (await read_reason(read) if minor == 8 else "authentication failed") if result else ""
        except RFBProtocolError:
            if sec_type != 2:
                raise
            # Servers hang up on a wrong password, sometimes before we read why (a reset drops it).
            result, reason = 1, "it closed the connection after our password"
        if result != 0:
            raise RFBAuthError(f"the VNC server rejected us: {reason}")
    return minor


class RFBClient:
    """One connection to a VNC server. Create it with :meth:`open`; all methods run on one event loop."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float) -> None:
        self._reader = reader
        self._writer = writer
        self.timeout = timeout
        self.name = ""
        self.width = 0
        self.height = 0
        self.framebuffer = np.zeros((0, 0, 4), np.uint8)
        self.cursor: Cursor | None = None
        self.updates = 0  # framebuffer updates received
        self.last_change = time.monotonic()  # when pixels last changed
        self.screens: list[tuple[int, int, int, int, int, int]] = []  # id, x, y, w, h, flags
        self.supports_resize = False
        self.bells = 0
        self._server_clipboard = ""
        self._clipboard_text: str | None = None  # what we offered the server
        self._ext_clipboard_actions = 0
        self._ext_clipboard_formats = 0
        self._changed = asyncio.Event()
        self._clipboard_event = asyncio.Event()
        self._resize_result: asyncio.Future[int] | None = None
        self._sync_waiters: list[asyncio.Future[None]] = []
        self._task: asyncio.Task[None] | None = None
        self.error: BaseException | None = None
        self.closed = False
        self._on_close: list[Callable[[], None]] = []
        #: Ask for ExtendedDesktopSize: needed to resize the screen through this client (set_desktop_size). It
        #: costs a round trip per sync(): TigerVNC answers a non-incremental request with the screen layout
        #: first and sends the pixels for the next request only.
        self.resizable = True

    # ------------------------------------------------------------------ connection

    @classmethod
    async def open(
        cls,
        path: str | None = None,
        *,
        host: str | None = None,
        port: int | None = None,
        password: str | None = None,
        timeout: float = 10.0,
    ) -> RFBClient:
        """Connect to a unix socket ``path`` or ``host:port``, authenticate, and fetch the first frame."""
        return await cls._open(lambda: cls._connect(path, host, port, timeout), password, timeout)

    @classmethod
    async def open_websocket(
        cls,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        sock: str | None = None,
        password: str | None = None,
        timeout: float = 10.0,
        resizable: bool = True,
    ) -> RFBClient:
        """The same, through a WebSocket that carries the RFB stream: the Jupyter server's authenticated proxy
        to a desktop (``sock``: the server's unix socket). Raises ``WebSocketRefused`` on an HTTP error.
        ``resizable=False``: this client will not resize the screen (see :attr:`resizable`); a sync then takes
        one round trip through the proxy instead of two."""

        async def connect() -> RFBClient:
            reader, writer = await open_websocket_streams(url, headers=headers, sock=sock, timeout=timeout)
            client = cls(reader, writer, timeout)  # type: ignore[arg-type]
            client.resizable = resizable
            return client

        return await cls._open(connect, password, timeout)

    @classmethod
    async def _open(cls, connect: Callable[[], Awaitable[RFBClient]], password: str | None, timeout: float) -> RFBClient:
        deadline = time.monotonic() + timeout
        while True:
            try:
                client = await connect()
            except _NotListening:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)  # a server that is still starting
                continue
            try:
                try:
                    await asyncio.wait_for(client._handshake(password), timeout)
                except asyncio.TimeoutError:
                    raise RFBProtocolError(f"the VNC server did not finish the handshake within {timeout:g} s") from None
                client._task = asyncio.get_running_loop().create_task(client._run())
                try:
                    # longer than one message's timeout, so a truncated first frame is reported as such
                    await client.wait_for_update(0, 2 * timeout)
                except asyncio.TimeoutError:
                    raise RFBProtocolError(f"the VNC server sent no first frame within {2 * timeout:g} s") from None
            except _NoGreeting:
                await client.close()
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)  # a server that just started can drop the first connections
                continue
            except BaseException:
                await client.close()
                raise
            return client

    @classmethod
    async def _connect(cls, path: str | None, host: str | None, port: int | None, timeout: float) -> RFBClient:
        if path is None and (host is None or port is None):
            raise ValueError("RFBClient.open needs a unix socket path or host and port")
        try:
            reader, writer = await open_streams(path=path, host=host, port=port, timeout=timeout)
        except (OSError, asyncio.TimeoutError) as exc:
            where = path or f"{host}:{port}"
            kind = _NotListening if isinstance(exc, (ConnectionRefusedError, FileNotFoundError)) else RFBError
            raise kind(f"cannot connect to the VNC server at {where}: {exc or 'timed out'}") from exc
        return cls(reader, writer, timeout)

    async def _read(self, n: int) -> bytes:
        try:
            return await self._reader.readexactly(n)
        except asyncio.IncompleteReadError as exc:
            raise RFBProtocolError(
                f"the VNC server closed the connection in the middle of a message "
                f"({len(exc.partial)} of {n} bytes read)"
            ) from None
        except ConnectionError as exc:
            raise RFBProtocolError(f"the VNC server broke the connection: {exc}") from None

    async def _read_reason(self) -> str:
        return await read_reason(self._read)

    async def _handshake(self, password: str | None) -> None:
        await security_handshake(self._read, self._writer.write, password)

        self._writer.write(b"\x01")  # ClientInit: shared, so viewers in the browser can connect too
        width, height = struct.unpack(">HH", await self._read(4))
        await self._read(16)  # the server's pixel format; we set our own below
        self.name = await self._read_reason()
        self._resize(width, height)

        self._writer.write(b"\x00\x00\x00\x00" + PIXEL_FORMAT)  # SetPixelFormat
        encodings = [
            ENC_COPYRECT,
            ENC_RAW,
            *([PSEUDO_EXT_DESKTOP_SIZE] if self.resizable else []),
            PSEUDO_DESKTOP_SIZE,
            PSEUDO_LAST_RECT,
            PSEUDO_CURSOR,
            PSEUDO_EXT_CLIPBOARD,
        ]
        self._writer.write(struct.pack(f">BxH{len(encodings)}i", 2, len(encodings), *encodings))
        self._request(incremental=False)
        await self._writer.drain()

    # ------------------------------------------------------------------ receiving

    async def _run(self) -> None:
        handlers = {
            0: self._on_update,
            1: self._on_colour_map,
            2: self._on_bell,
            3: self._on_cut_text,
        }
        try:
            while True:
                kind = await self._reader.read(1)  # waits as long as the desktop is idle
                if not kind:
                    raise RFBError("the VNC server closed the connection")
                handler = handlers.get(kind[0])
                if handler is None:
                    raise RFBProtocolError(f"the VNC server sent unknown message type {kind[0]}")
                try:
                    async with _deadline(self.timeout):
                        await handler()
                except asyncio.TimeoutError:
                    raise RFBProtocolError(
                        f"the VNC server sent a truncated message (type {kind[0]}): "
                        f"no data for {self.timeout:g} s"
                    ) from None
        except asyncio.CancelledError:
            self.error = self.error or RFBError("the RFB connection was closed")
            raise
        except (RFBError, OSError, ValueError) as exc:
            self.error = exc if isinstance(exc, RFBError) else RFBError(f"RFB connection failed: {exc}")
        finally:
            self._abort()

    async def _on_update(self) -> None:
        (count,) = struct.unpack(">xH", await self._read(3))
        changed = False
        covered_origin = False
        size = (self.width, self.height)
        for _ in range(count):
            x, y, w, h, enc = struct.unpack(">HHHHi", await self._read(12))
            if enc == ENC_RAW or enc == ENC_COPYRECT:
                self._check_rect(x, y, w, h)
                target = self.framebuffer[y : y + h, x : x + w]
                if enc == ENC_RAW:
                    pixels = np.frombuffer(await self._read(w * h * 4), np.uint8).reshape(h, w, 4)
                else:
                    sx, sy = struct.unpack(">HH", await self._read(4))
                    self._check_rect(sx, sy, w, h)
                    pixels = self.framebuffer[sy : sy + h, sx : sx + w].copy()
                # Servers resend unchanged pixels (our sync requests, x11vnc): only real change counts.
                changed = changed or not np.array_equal(target, pixels)
                target[...] = pixels
                covered_origin = covered_origin or (x == 0 and y == 0 and w > 0 and h > 0)
            elif enc == PSEUDO_LAST_RECT:
                break
            elif enc == PSEUDO_DESKTOP_SIZE:
                self._resize(w, h)
            elif enc == PSEUDO_EXT_DESKTOP_SIZE:
                await self._on_ext_desktop_size(x, y, w, h)
            elif enc == PSEUDO_CURSOR:
                await self._on_cursor(x, y, w, h)
            else:
                raise RFBProtocolError(f"the VNC server sent encoding {enc}, which this client did not ask for")
        resized = size != (self.width, self.height)
        self.updates += 1
        if changed:
            self.last_change = time.monotonic()
        if resized:
            self._request(incremental=False)
        self._request(incremental=True)
        if covered_origin or resized:
            waiters, self._sync_waiters = self._sync_waiters, []
            for fut in waiters:
                if not fut.done():
                    fut.set_result(None)
        self._changed.set()
        self._changed = asyncio.Event()

    def _check_rect(self, x: int, y: int, w: int, h: int) -> None:
        if x + w > self.width or y + h > self.height:
            raise RFBProtocolError(
                f"the VNC server sent a rectangle {w}x{h}+{x}+{y} outside its {self.width}x{self.height} screen"
            )

    def _resize(self, width: int, height: int) -> None:
        if not (0 < width <= MAX_DIMENSION and 0 < height <= MAX_DIMENSION):
            raise RFBProtocolError(f"the VNC server announced an impossible screen size {width}x{height}")
        if (width, height) == (self.width, self.height):
            return
        old = self.framebuffer
        self.framebuffer = np.zeros((height, width, 4), np.uint8)
        h, w = min(height, old.shape[0]), min(width, old.shape[1])
        self.framebuffer[:h, :w] = old[:h, :w]
        self.width, self.height = width, height

    async def _on_ext_desktop_size(self, reason: int, status: int, w: int, h: int) -> None:
        count = (await self._read(4))[0]
        data = await self._read(16 * count)
        self.screens = [struct.unpack_from(">IHHHHI", data, 16 * i) for i in range(count)]
        self.supports_resize = True
        if status == 0:
            self._resize(w, h)
        if reason == 1 and self._resize_result is not None and not self._resize_result.done():
            self._resize_result.set_result(status)

    async def _on_cursor(self, hot_x: int, hot_y: int, w: int, h: int) -> None:
        if w * h == 0:
            self.cursor = None
            return
        if w > 1024 or h > 1024:
            raise RFBProtocolError(f"the VNC server sent an oversized {w}x{h} cursor")
        pixels = np.frombuffer(await self._read(w * h * 4), np.uint8).reshape(h, w, 4).copy()
        row = (w + 7) // 8
        mask = np.unpackbits(np.frombuffer(await self._read(row * h), np.uint8).reshape(h, row), axis=1)[:, :w]
        pixels[..., 3] = mask * 255
        self.cursor = Cursor(pixels, (hot_x, hot_y))

    async def _on_colour_map(self) -> None:
        _, count = struct.unpack(">xHH", await self._read(5))
        await self._read(6 * count)  # we asked for true colour; ignore

    async def _on_bell(self) -> None:
        self.bells += 1

    async def _on_cut_text(self) -> None:
        (length,) = struct.unpack(">3xi", await self._read(7))
        if length >= 0:
            if length > clipboard.MAX_TEXT:
                raise RFBProtocolError(f"the VNC server sent {length} bytes of clipboard text")
            self._server_clipboard = (await self._read(length)).decode("latin-1")
            self._clipboard_event.set()
            return
        length = -length
        if length < 4 or length > clipboard.MAX_TEXT:
            raise RFBProtocolError(f"malformed extended clipboard message of {length} bytes")
        payload = await self._read(length)
        actions, formats = clipboard.flags(payload)
        if actions & clipboard.CAPS:
            self._ext_clipboard_actions, self._ext_clipboard_formats = actions, formats
            self._send_ext_clipboard(clipboard.caps())  # ours in answer
        elif actions & clipboard.REQUEST:
            if formats & clipboard.TEXT and self._clipboard_text is not None:
                self._send_ext_clipboard(clipboard.provide(self._clipboard_text))
        elif actions & clipboard.PEEK:
            has_text = clipboard.TEXT if self._clipboard_text else 0
            self._send_ext_clipboard(struct.pack(">I", clipboard.NOTIFY | has_text))
        elif actions & clipboard.NOTIFY:
            if formats & clipboard.TEXT:
                self._clipboard_text = None  # someone else owns the clipboard now
                self._send_ext_clipboard(struct.pack(">I", clipboard.REQUEST | clipboard.TEXT))
            elif self._clipboard_text is None:
                # "Empty". TigerVNC also says so when the previous X owner lets go of the clipboard
                # we just set, so it clears only a clipboard we do not own.
                self._server_clipboard = ""
                self._clipboard_event.set()
        elif actions & clipboard.PROVIDE:
            self._clipboard_text = None
            text = clipboard.read_provide(payload)
            if text is not None:
                self._server_clipboard = text
                self._clipboard_event.set()

    # ------------------------------------------------------------------ sending

    def _check_open(self) -> None:
        if self.closed:
            raise self.error if isinstance(self.error, RFBError) else RFBError("the RFB connection is closed")

    def _request(self, incremental: bool, x: int = 0, y: int = 0, w: int | None = None, h: int | None = None) -> None:
        if self.closed:
            return
        w = self.width if w is None else w
        h = self.height if h is None else h
        self._writer.write(struct.pack(">BBHHHH", 3, int(incremental), x, y, w, h))

    async def _drain(self) -> None:
        try:
            await asyncio.wait_for(self._writer.drain(), self.timeout)
        except asyncio.TimeoutError:
            raise RFBError(f"the VNC server did not read our messages for {self.timeout:g} s") from None
        except (ConnectionError, OSError) as exc:
            raise RFBError(f"the RFB connection broke: {exc}") from exc

    def pointer_event(self, x: int, y: int, buttons: int) -> None:
        """Queue a PointerEvent (call :meth:`flush` or any awaiting method to send it)."""
        self._check_open()
        self._writer.write(struct.pack(">BBHH", 5, buttons & 0xFF, x, y))

    def key_event(self, keysym: int, down: bool) -> None:
        """Queue a KeyEvent."""
        self._check_open()
        self._writer.write(struct.pack(">BBxxI", 4, int(down), keysym))

    async def flush(self) -> None:
        self._check_open()
        await self._drain()

    def _send_ext_clipboard(self, payload: bytes) -> None:
        self._writer.write(clipboard.message(payload))

    @property
    def extended_clipboard(self) -> bool:
        """UTF-8 clipboard in both directions. As noVNC does, we use it only when the server can also
        notify: LibVNCServer (x11vnc) advertises the extension but x11vnc drops what arrives through it."""
        return bool(self._ext_clipboard_formats & clipboard.TEXT and self._ext_clipboard_actions & clipboard.NOTIFY)

    async def set_clipboard(self, text: str) -> None:
        """Offer ``text`` as the desktop's clipboard (Unicode where the server has extended clipboard)."""
        self._check_open()
        # The server never tells a client about the clipboard that client set: remember it ourselves
        # until the server notifies us of someone else's.
        self._server_clipboard = text
        if self.extended_clipboard:
            self._clipboard_text = text
            self._send_ext_clipboard(struct.pack(">I", clipboard.NOTIFY | clipboard.TEXT))
        else:
            data = text.encode("latin-1", "replace")
            self._writer.write(struct.pack(">B3xI", 6, len(data)) + data)
        await self._drain()

    async def get_clipboard(self, timeout: float = 1.0) -> str:
        """The desktop's clipboard text. With extended clipboard we ask for it; else the last one sent."""
        self._check_open()
        if self.extended_clipboard and self._ext_clipboard_actions & clipboard.REQUEST and self._clipboard_text is None:
            self._clipboard_event.clear()
            self._send_ext_clipboard(struct.pack(">I", clipboard.REQUEST | clipboard.TEXT))
            await self._drain()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._clipboard_event.wait(), timeout)
        self._check_open()
        return self._server_clipboard

    async def set_desktop_size(self, width: int, height: int) -> None:
        """Ask the server to resize the screen (ExtendedDesktopSize); raises with the server's reason."""
        self._check_open()
        if not self.supports_resize:
            raise RFBError("this VNC server cannot be resized by a client (no ExtendedDesktopSize support)")
        screen_id, flags = (self.screens[0][0], self.screens[0][5]) if self.screens else (0, 0)
        self._resize_result = asyncio.get_running_loop().create_future()
        self._writer.write(struct.pack(">BxHHBxIHHHHI", 251, width, height, 1, screen_id, 0, 0, width, height, flags))
        await self._drain()
        try:
            status = await asyncio.wait_for(asyncio.shield(self._resize_result), self.timeout)
        except asyncio.TimeoutError:
            raise RFBError(f"the VNC server did not answer the resize request within {self.timeout:g} s") from None
        if status != 0:
            raise RFBError(f"resize to {width}x{height} refused: {RESIZE_ERRORS.get(status, f'status {status}')}")
        await self.sync()

    # ------------------------------------------------------------------ waiting

    async def wait_for_update(self, after: int, timeout: float | None = None) -> None:
        """Wait until more than ``after`` framebuffer updates have arrived."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.updates <= after:
            self._check_open()
            event = self._changed
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                raise asyncio.TimeoutError
            await asyncio.wait_for(event.wait(), remaining)
        self._check_open()

    async def sync(self, timeout: float | None = None) -> None:
        """Make the mirror current: wait for an update that answers a request sent now.

        We ask for everything that changed plus, non-incrementally, the pixel at (0, 0); the server
        must answer, and its answer carries every change it knew of when it read the request.
        """
        self._check_open()
        fut = asyncio.get_running_loop().create_future()
        self._sync_waiters.append(fut)
        self._request(incremental=True)
        self._request(incremental=False, w=1, h=1)
        await self._drain()
        timeout = self.timeout if timeout is None else timeout
        try:
            await asyncio.wait_for(asyncio.shield(fut), timeout)
        except asyncio.TimeoutError:
            self._check_open()
            raise RFBProtocolError(f"the VNC server did not answer an update request within {timeout:g} s") from None
        self._check_open()

    def add_close_callback(self, callback: Callable[[], None]) -> None:
        self._on_close.append(callback)

    # ------------------------------------------------------------------ closing

    def _abort(self) -> None:
        if self.closed:
            return
        self.closed = True
        with contextlib.suppress(Exception):
            self._writer.close()
        self._changed.set()
        self._clipboard_event.set()
        for fut in self._sync_waiters:
            if not fut.done():
                fut.set_result(None)
        if self._resize_result is not None and not self._resize_result.done():
            self._resize_result.set_result(-1)
        for callback in self._on_close:
            with contextlib.suppress(Exception):
                callback()

    async def close(self) -> None:
        self._abort()  # closing the transport ends the reader task with EOF
        if self._task is not None and not self._task.done():
            self._task.cancel()
            await asyncio.wait([self._task], timeout=2.0)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self._writer.wait_closed(), 1.0)
