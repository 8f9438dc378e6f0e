"""``%load_ext jupyter_desktop``: the ``%desktop`` line magic, and screenshots shown inline.

    %desktop                          start a desktop and show it live (its value is the Desktop)
    %desktop --profile xfce --size 1600x900 --backend docker --opengl --view-only --compact
    %desktop list                     the desktops of this server (or kernel)
    %desktop stop ID                  stop one (``%desktop stop all``: the ones %desktop started)

``%unload_ext jupyter_desktop`` stops the desktops the magic started and removes what it registered.
"""

from __future__ import annotations

import argparse
import io
import shlex
from typing import Any, NoReturn

from .desktop import Desktop
from .errors import DesktopError, InvalidInputError

__all__ = ["load_ipython_extension", "unload_ipython_extension"]

_started: dict[str, Desktop] = {}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # argparse would exit the kernel
        raise InvalidInputError(f"%desktop: {message}\n{self.format_usage()}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="%desktop", description="Start, list and stop live desktops.", add_help=False)
    parser.add_argument("command", nargs="?", default="start", choices=["start", "list", "stop"])
    parser.add_argument("ids", nargs="*", help="for stop: desktop ids, or 'all'")
    parser.add_argument("--profile", default="openbox", help="openbox, xfce, none, or a session command")
    parser.add_argument("--size", default="1280x800", help="WIDTHxHEIGHT")
    parser.add_argument("--backend", default=None, help="local or docker")
    parser.add_argument("--opengl", action="store_true", help="give apps OpenGL (costs ~50 MiB)")
    parser.add_argument("--view-only", action="store_true", help="watch without mouse and keyboard")
    parser.add_argument("--compact", action="store_true", help="a 300 px high view instead of the cell's width")
    return parser


def desktop_magic(line: str) -> Any:
    args = _parser().parse_args(shlex.split(line))
    if args.command == "list":
        return _listing(Desktop.list())
    if args.command == "stop":
        ids = list(_started) if args.ids == ["all"] else args.ids
        if not ids:
            raise InvalidInputError("%desktop stop needs desktop ids (see %desktop list) or 'all'")
        for desktop_id in ids:
            desktop = _started.pop(desktop_id, None) or Desktop.attach(desktop_id)
            desktop.close()
        return None
    try:
        width, height = (int(v) for v in args.size.lower().split("x"))
    except ValueError:
        raise InvalidInputError(f"--size must look like 1280x800, not {args.size!r}") from None
    desktop = Desktop(args.profile, width=width, height=height, backend=args.backend, opengl=args.opengl)
    _started[desktop.id] = desktop
    desktop.view(view_only=args.view_only, size="compact" if args.compact else "full")
    return desktop


class _Listing(list):
    """Desktops as a table in notebooks, as lines in terminals."""

    def _repr_html_(self) -> str:
        import html

        head = "<tr><th>id</th><th>status</th><th>profile</th><th>size</th><th>backend</th></tr>"
        rows = "".join(
            f"<tr><td>{html.escape(d['id'])}</td><td>{html.escape(str(d['status']))}</td>"
            f"<td>{html.escape(str(d['profile']))}</td><td>{d['width']}x{d['height']}</td>"
            f"<td>{html.escape(str(d.get('backend', '')))}</td></tr>"
            for d in self
        )
        return f"<table>{head}{rows}</table>" if self else "<p>no desktops</p>"

    def __repr__(self) -> str:
        if not self:
            return "no desktops"
        return "\n".join(f"{d['id']}  {d['status']:<8} {d['profile']!s:<10} {d['width']}x{d['height']}" for d in self)


def _listing(desktops: list[dict[str, Any]]) -> _Listing:
    return _Listing(desktops)


def _fast_png(image: Any) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG", compress_level=1)  # a screenshot: shown once, encoded fast
    return buf.getvalue()


def load_ipython_extension(ipython: Any) -> None:
    from PIL import Image

    ipython.register_magic_function(desktop_magic, "line", "desktop")
    formatter = ipython.display_formatter.formatters["image/png"]
    formatter.for_type(Image.Image, _fast_png)


def unload_ipython_extension(ipython: Any) -> None:
    from PIL import Image

    for desktop in list(_started.values()):
        try:
            desktop.close()
        except DesktopError:
            pass
    _started.clear()
    ipython.magics_manager.magics["line"].pop("desktop", None)
    ipython.display_formatter.formatters["image/png"].type_printers.pop(Image.Image, None)
