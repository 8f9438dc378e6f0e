"""The light (openbox) desktop's first look: in the middle of the screen, how to open the menu; and a root menu
with the apps this machine has (terminal, web browser, files) and the window list.

    python3 first_look.py [DISPLAY]        show the hint ($DISPLAY, $XAUTHORITY)
    python3 first_look.py --menu PATH      write openbox's menu.xml for the apps installed here

Standard library only (the desktop image has python3-minimal); the local backend imports it. The hint costs no
process and little memory: this client speaks the X11 protocol for a handful of requests and exits. A small
override-redirect window shows the hint, drawn once by the X server with a core font into a pixmap that is the
window's background. The window stays below every other window, takes no input (an empty SHAPE input region:
clicks reach the root window, where openbox's menu is), and outlives this client (RetainPermanent).

Memory: the pixmap, under 100 KiB, where a full-screen wallpaper would cost 4 MiB at 1280x800 (a tenth of the
light desktop). The desktop stays black on purpose: TigerVNC keeps a copy of the framebuffer to compare updates
with, and a black screen leaves its pages untouched (zero); a coloured one makes them all resident, 2 MiB more.
"""

from __future__ import annotations

import _socket as socket  # the C module: socket.py's imports (enum, selectors) take python3-minimal 15 ms
import os
import struct
import sys

__all__ = ["show_hint", "menu_xml", "BACKGROUND", "HINT", "WM_CLASS"]

BACKGROUND = (0, 0, 0)  # the X server's own (see above)
TEXT = (0xD8, 0xDE, 0xE9)
DIM = (0x8C, 0x94, 0xA3)
#: The hint's lines: (text, colour, core fonts to try, the first the X server has is used). xfonts-base has
#: these (Latin-1 ones: the server loads every glyph of a font, and the Unicode ones cost it 0.5 MiB).
_FONT_24 = "-sony-fixed-medium-r-normal--24-170-100-100-c-120-iso8859-1"  # "12x24"
_FONT_20 = "-misc-fixed-medium-r-normal--20-200-75-75-c-100-iso8859-1"  # "10x20"
HINT = (
    ("Right-click the desktop for the menu", TEXT, (_FONT_24, "10x20")),
    ("terminal, web browser, files", DIM, (_FONT_20, "9x15")),
)
LINE_GAP = 8
ABOVE_CENTRE = 24  # px between the hint and the middle of the screen, where the pointer starts
WM_CLASS = b"jupyter-desktop-hint\0JupyterDesktopHint\0"

#: The root menu's apps: (label, programs to try, the first installed is used). Debian's alternatives first.
MENU_APPS = (
    ("_Terminal", ("x-terminal-emulator", "xfce4-terminal", "xterm")),
    ("_Web browser", ("x-www-browser", "firefox-esr", "firefox", "chromium", "google-chrome")),
    ("_Files", ("thunar", "pcmanfm", "nautilus", "caja", "nemo")),
)


def which(program: str, path: str | None = None) -> str | None:
    """shutil.which without shutil (not in python3-minimal)."""
    for folder in (path if path is not None else os.environ.get("PATH", os.defpath)).split(os.pathsep):
        candidate = os.path.join(folder or ".", program)
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    return None


#: Browsers that refuse to start as root unless told --no-sandbox (Chromium and its builds).
SANDBOXED = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")


def menu_xml(find=which, as_root: bool | None = None) -> str:
    """openbox's menu.xml: a root menu of the installed apps (``find(program)``: its path, or None), and the
    window list. No Exit entry: leaving openbox would end the desktop. A desktop that runs as root (a container,
    a root Jupyter server) starts a Chromium browser with --no-sandbox: Chromium refuses root otherwise."""
    if as_root is None:
        as_root = os.geteuid() == 0
    items = []
    for label, programs in MENU_APPS:
        program = next((p for p in programs if find(p)), None)
        if program and as_root and os.path.basename(os.path.realpath(find(program))) in SANDBOXED:
            program += " --no-sandbox"
        if program:
            items.append(
                f'  <item label="{label}"><action name="Execute"><command>{program}</command></action></item>\n'
            )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<openbox_menu xmlns="http://openbox.org/3.4/menu">\n'
        '<menu id="root-menu" label="Desktop">\n'
        + "".join(items)
        + '  <separator />\n'
        '  <menu id="client-list-combined-menu" />\n'
        "</menu>\n"
        "</openbox_menu>\n"
    )


# ---------------------------------------------------------------------------------------------- the hint


class XError(Exception):
    pass


class _X:
    """A minimal X11 client over a unix socket: requests out, replies and errors in, by sequence number."""

    def __init__(self, display: int, xauthority: str | None, timeout: float) -> None:
        self.sock = _connect(display, timeout)
        try:
            name, data = _cookie(xauthority, display)
            pad = b"\0" * (-len(name) % 4), b"\0" * (-len(data) % 4)
            setup = struct.pack("<BxHHHHxx", 0x6C, 11, 0, len(name), len(data))  # little-endian, X11.0
            self.sock.sendall(setup + name + pad[0] + data + pad[1])
            head = self._read(8)
            body = self._read(struct.unpack_from("<H", head, 6)[0] * 4)
        except BaseException:
            self.sock.close()
            raise
        if head[0] != 1:
            self.sock.close()
            reason = body[: head[1]].decode(errors="replace") if head[0] == 0 else "it asks for authentication"
            raise XError(f"the X server refused the connection: {reason}")
        self.seq = 0
        self.id_base, self.id_mask = struct.unpack_from("<II", body, 4)
        self.next_id = 0
        vendor_len, _, _, n_formats = struct.unpack_from("<HHBB", body, 16)
        at = 32 + vendor_len + (-vendor_len % 4) + 8 * n_formats
        self.root, _, _, _, _, self.width, self.height = struct.unpack_from("<IIIIIHH", body, at)
        self.root_visual, _, _, self.depth, n_depths = struct.unpack_from("<IBBBB", body, at + 32)
        self.masks = (0xFF0000, 0x00FF00, 0x0000FF)
        at += 40
        for _ in range(n_depths):  # the root visual's colour masks turn RGB into pixel values (depth 16 too)
            _, n_visuals = struct.unpack_from("<BxH", body, at)
            at += 8
            for _ in range(n_visuals):
                visual, _, _, _, r, g, b = struct.unpack_from("<IBBHIII", body, at)
                if visual == self.root_visual:
                    self.masks = (r, g, b)
                at += 24

    def _read(self, n: int) -> bytes:
        data = bytearray()
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise XError("the X server closed the connection")
            data += chunk
        return bytes(data)

    def new_id(self) -> int:
        self.next_id += 1
        return self.id_base | (self.next_id & self.id_mask)

    def pixel(self, rgb: tuple[int, int, int]) -> int:
        value = 0
        for c, mask in zip(rgb, self.masks):
            shift = (mask & -mask).bit_length() - 1
            value |= ((c * (mask >> shift)) // 255) << shift
        return value

    def send(self, opcode: int, data: int, body: bytes = b"") -> int:
        body += b"\0" * (-len(body) % 4)
        self.sock.sendall(struct.pack("<BBH", opcode, data, 1 + len(body) // 4) + body)
        self.seq = (self.seq + 1) & 0xFFFF
        return self.seq

    def reply(self, seq: int) -> bytes:
        """The reply to request ``seq``. XError if it, or a request before it, failed; but for BadName (a font
        the server does not have: the query that follows it fails too, and says so)."""
        while True:
            head = self._read(32)
            if head[0] == 1:
                extra = self._read(struct.unpack_from("<I", head, 4)[0] * 4)
                if struct.unpack_from("<H", head, 2)[0] == seq:
                    return head + extra
            elif head[0] == 0:
                code, err_seq = head[1], struct.unpack_from("<H", head, 2)[0]
                if err_seq == seq or code != 15:
                    raise XError(f"X error {code} for request {err_seq}")
            # events: none asked for, ignored

    def sync(self) -> None:
        self.reply(self.send(43, 0))  # GetInputFocus: a round trip, so every request before it was handled

    def close(self) -> None:
        self.sock.close()


def _connect(display: int, timeout: float) -> socket.socket:
    """The display's socket: the abstract one first, as Xlib does (it is there even when someone removed
    the file), then the file."""
    error: OSError | None = None
    for address in (f"\0/tmp/.X11-unix/X{display}", f"/tmp/.X11-unix/X{display}"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(address)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error  # type: ignore[misc]


def _cookie(path: str | None, display: int) -> tuple[bytes, bytes]:
    """The MIT-MAGIC-COOKIE-1 for this display from an Xauthority file (any address), or none."""
    try:
        with open(path or os.path.expanduser("~/.Xauthority"), "rb") as f:
            data = f.read()
    except OSError:
        return b"", b""
    at = 0
    try:
        while at < len(data):
            fields = []
            at += 2  # family
            for _ in range(4):
                (n,) = struct.unpack_from(">H", data, at)
                fields.append(data[at + 2 : at + 2 + n])
                at += 2 + n
            _, number, name, cookie = fields
            if name == b"MIT-MAGIC-COOKIE-1" and number in (b"", str(display).encode()):
                return name, cookie
    except struct.error:
        pass
    return b"", b""


def _open_font(x: _X, names: tuple[str, ...], text: bytes) -> tuple[int, int, int, int]:
    """(font, text width, ascent, descent) in the first of ``names`` the server has ("fixed" as the last
    resort: every X server has it)."""
    chars = b"".join(b"\0" + bytes([c]) for c in text)  # CHAR2B
    for name in (*names, "fixed"):
        font = x.new_id()
        x.send(45, 0, struct.pack("<IHxx", font, len(name)) + name.encode())  # OpenFont
        try:
            r = x.reply(x.send(48, len(text) % 2, struct.pack("<I", font) + chars))  # QueryTextExtents
        except XError:
            continue
        ascent, descent, _, _, width = struct.unpack_from("<hhhhi", r, 8)  # the font's, and the text's width
        return font, width, ascent, descent
    raise XError(f"the X server has none of these fonts: {', '.join(names)}")


def show_hint(display: int, xauthority: str | None = None, lines=HINT, timeout: float = 5.0) -> int:
    """Put the hint above the middle of the screen; its window's id (0: the screen is too small for it)."""
    x = _X(display, xauthority, timeout)
    try:
        bg = x.pixel(BACKGROUND)
        fonts = []
        for text, colour, names in lines:
            raw = text.encode("latin-1")[:255]
            fonts.append((raw, x.pixel(colour), *_open_font(x, names, raw)))
        width = max(f[3] for f in fonts) + 2
        height = sum(f[4] + f[5] for f in fonts) + LINE_GAP * (len(fonts) - 1)
        left, top = (x.width - width) // 2, x.height // 2 - ABOVE_CENTRE - height
        if left < 0 or top < 0:
            x.sync()
            return 0

        pixmap, gc, window = x.new_id(), x.new_id(), x.new_id()
        x.send(53, x.depth, struct.pack("<IIHH", pixmap, x.root, width, height))  # CreatePixmap
        # CreateGC: foreground, background, no GraphicsExpose events
        x.send(55, 0, struct.pack("<IIIIII", gc, pixmap, 0x4 | 0x8 | 0x10000, bg, bg, 0))
        x.send(70, 0, struct.pack("<IIhhHH", pixmap, gc, 0, 0, width, height))  # PolyFillRectangle
        y = 0
        for raw, fg, font, w, ascent, descent in fonts:
            x.send(56, 0, struct.pack("<IIII", gc, 0x4 | 0x4000, fg, font))  # ChangeGC: foreground, font
            x.send(76, len(raw), struct.pack("<IIhh", pixmap, gc, (width - w) // 2, y + ascent) + raw)  # ImageText8
            x.send(46, 0, struct.pack("<I", font))  # CloseFont (the GC keeps what it needs)
            y += ascent + descent + LINE_GAP

        # CreateWindow with background-pixmap and override-redirect (no window manager frame, not in the window
        # list). It goes to the bottom of the stack: run this once the window manager is up, as openbox lowers
        # the anchor of its own stacking to the bottom when it starts and then keeps its windows above it.
        values = struct.pack("<II", pixmap, 1)
        head = struct.pack("<IIhhHHHHII", window, x.root, left, top, width, height, 0, 1, 0, 0x1 | 0x200)
        x.send(1, 0, head + values)
        x.send(18, 0, struct.pack("<IIIBxxxI", window, 67, 31, 8, len(WM_CLASS)) + WM_CLASS)  # WM_CLASS, STRING
        x.send(12, 0, struct.pack("<IHxxI", window, 0x40, 1))  # ConfigureWindow: stack-mode Below, the bottom
        shape = x.reply(x.send(98, 0, struct.pack("<Hxx", 5) + b"SHAPE"))  # QueryExtension
        if shape[8]:  # an empty input region: every click goes through to the root window
            x.send(shape[9], 1, struct.pack("<BBBxIhh", 0, 2, 0, window, 0, 0))  # ShapeRectangles Set Input
        x.send(8, 0, struct.pack("<I", window))  # MapWindow
        x.send(54, 0, struct.pack("<I", pixmap))  # FreePixmap: the window keeps it
        x.send(60, 0, struct.pack("<I", gc))  # FreeGC
        x.send(112, 1)  # SetCloseDownMode RetainPermanent: the window stays when this client goes
        x.sync()
        return window
    finally:
        x.close()


def main(argv: list[str]) -> int:
    if len(argv) == 3 and argv[1] == "--menu":
        with open(argv[2], "w") as f:
            f.write(menu_xml())
        return 0
    display = (argv[1] if len(argv) > 1 else os.environ.get("DISPLAY", ":0")).rpartition(":")[2].split(".")[0]
    try:
        show_hint(int(display), os.environ.get("XAUTHORITY"))
    except (OSError, XError, ValueError) as exc:
        print(f"jupyter-desktop first look: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
