"""A small AT-SPI client: a desktop's accessibility tree, read and acted on over D-Bus, with timeouts and limits.

Every toolkit that supports accessibility (GTK, Qt, Chromium and Electron, Firefox, LibreOffice, Java) puts its
widgets on the desktop's accessibility bus: each is a D-Bus object with a role, a name, states, screen extents and
the interfaces it offers (Action, EditableText, Value ...). The backends start that bus with the desktop and hand
its address over (``BackendDesktop.accessibility_bus``); the session reads it here, in the process that holds the
desktop (the Jupyter server, or the embedded manager's thread), never in the kernel.

Why our own walk on dbus-fast rather than pyatspi (libatspi through GObject introspection): pyatspi aborts its
process when there is no bus, asks one question at a time, and has no timeouts; here every call has a timeout (an
app that hangs loses its subtree, marked with an error, and nothing else), the questions for a whole level of
the tree are in flight at once (:data:`CHUNK` nodes at a time), and a missing bus is an :class:`AccessibilityError`.
Measured (``benchmarks/bench_accessibility.py``, figures in the README): a 2,000-node GTK window with bounds in
0.9 s against pyatspi's 1.8 s, 200 nodes in 80-100 ms against 160-190 ms. dbus-fast over jeepney: the same walk
took ~3x longer with jeepney (its pure-Python message parsing). A call is a future on dbus-fast's reply callback:
its own ``call()`` (a coroutine and a timer each) was most of a snapshot's time.

A snapshot is JSON: ``{"nodes": [...], "truncated": bool, "limits": {...}, "elapsed": s}``, the nodes in document
order (pre-order), each ``{"ref", "role", "name", "states", "bounds": [x, y, w, h] | None, "actions", "depth",
"parent"}`` plus ``description``, ``text`` (editable text), ``value`` (sliders, spin buttons), ``error`` when they
apply. ``ref`` (``":1.24/154"``: the app's bus name and its object) names the widget for as long as it lives.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import AccessibilityError, InvalidInputError, StaleNodeError

__all__ = [
    "ROLES",
    "STATES",
    "AtspiClient",
    "bus_address",
    "check_limits",
    "COMMANDS",
    "MAX_NODES",
    "MAX_DEPTH",
    "MAX_TEXT",
]

#: AT-SPI's roles by number (libatspi's ``atspi_role_get_name``, at-spi2-core 2.46).
ROLES = (
    "invalid", "accelerator label", "alert", "animation", "arrow", "calendar", "canvas", "check box",
    "check menu item", "color chooser", "column header", "combo box", "date editor", "desktop icon", "desktop frame",
    "dial", "dialog", "directory pane", "drawing area", "file chooser", "filler", "focus traversable", "font chooser",
    "frame", "glass pane", "html container", "icon", "image", "internal frame", "label", "layered pane", "list",
    "list item", "menu", "menu bar", "menu item", "option pane", "page tab", "page tab list", "panel",
    "password text", "popup menu", "progress bar", "push button", "radio button", "radio menu item", "root pane",
    "row header", "scroll bar", "scroll pane", "separator", "slider", "spin button", "split pane", "status bar",
    "table", "table cell", "table column header", "table row header", "tearoff menu item", "terminal", "text",
    "toggle button", "tool bar", "tool tip", "tree", "tree table", "unknown", "viewport", "window", "extended",
    "header", "footer", "paragraph", "ruler", "application", "autocomplete", "editbar", "embedded", "entry", "chart",
    "caption", "document frame", "heading", "page", "section", "redundant object", "form", "link",
    "input method window", "table row", "tree item", "document spreadsheet", "document presentation",
    "document text", "document web", "document email", "comment", "list box", "grouping", "image map",
    "notification", "info bar", "level bar", "title bar", "block quote", "audio", "video", "definition", "article",
    "landmark", "log", "marquee", "math", "rating", "timer", "static", "math fraction", "math root", "subscript",
    "superscript", "description list", "description term", "description value", "footnote", "content deletion",
    "content insertion", "mark", "suggestion", "push button menu",
)  # fmt: skip

#: AT-SPI's states by bit (two 32-bit words).
STATES = (
    "invalid", "active", "armed", "busy", "checked", "collapsed", "defunct", "editable", "enabled", "expandable",
    "expanded", "focusable", "focused", "has-tooltip", "horizontal", "iconified", "modal", "multi-line",
    "multiselectable", "opaque", "pressed", "resizable", "selectable", "selected", "sensitive", "showing",
    "single-line", "stale", "transient", "vertical", "visible", "manages-descendants", "indeterminate", "required",
    "truncated", "animated", "invalid-entry", "supports-autocompletion", "selectable-text", "is-default", "visited",
    "checkable", "has-popup", "read-only",
)  # fmt: skip

#: What a node can be asked (``AtspiClient.command``): read it again, one of its actions by name, replace its
#: text, take the keyboard focus.
COMMANDS = ("describe", "do", "set_text", "focus")

MAX_NODES, MAX_DEPTH, MAX_TEXT = 20_000, 256, 100_000  # the most a snapshot may ask for
DEFAULT_NODES, DEFAULT_DEPTH, DEFAULT_TEXT = 2_000, 64, 500
MAX_WAIT = 120.0  # seconds a snapshot may take in all
CALL_TIMEOUT = 3.0  # seconds an app has to answer one question
CHUNK = 64  # nodes whose questions (4 to 9 each) are in flight at once: dbus-fast's writer failed (EAGAIN)
# with thousands of messages queued
# Roles whose text, when they have no name, is their content's (pages, windows, containers): not read.
_NO_TEXT = frozenset({"application", "frame", "window", "dialog", "document web", "document frame", "internal frame",
                      "scroll pane", "filler", "panel", "tool bar", "menu bar", "terminal", "page tab list"})  # fmt: skip

_ACC = "org.a11y.atspi.Accessible"
_PROPS = "org.freedesktop.DBus.Properties"
_PREFIX = "/org/a11y/atspi/accessible/"
_ROOT = _PREFIX + "root"
_BUS_NAME = re.compile(r":[0-9]+\.[0-9]+")
_PATH = re.compile(r"/([A-Za-z0-9_]+(/[A-Za-z0-9_]+)*)?")
# D-Bus errors that mean the object (or its whole app) is gone
_GONE = (
    "org.freedesktop.DBus.Error.ServiceUnknown",
    "org.freedesktop.DBus.Error.UnknownObject",
    "org.freedesktop.DBus.Error.NoReply",
    "org.freedesktop.DBus.Error.NameHasNoOwner",
)


def _dbus() -> Any:
    from dbus_fast import Message, MessageType, Variant
    from dbus_fast.aio import MessageBus

    return Message, MessageType, Variant, MessageBus


def check_limits(max_nodes: int, max_depth: int, max_text: int, timeout: float) -> None:
    for name, value, high in (("max_nodes", max_nodes, MAX_NODES), ("max_depth", max_depth, MAX_DEPTH),
                              ("max_text", max_text, MAX_TEXT)):  # fmt: skip
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= high:
            raise InvalidInputError(f"{name} must be an integer from 1 to {high}, not {value!r:.40}")
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 < timeout <= MAX_WAIT:
        raise InvalidInputError(f"timeout must be a number of seconds above 0 and at most {MAX_WAIT:g}, not {timeout!r:.40}")


def ref_of(bus: str, path: str) -> str:
    """A node's reference: its app's bus name and its object path (AT-SPI's usual prefix left out)."""
    return bus + ("/" + path[len(_PREFIX):] if path.startswith(_PREFIX) else path)


def parse_ref(ref: Any) -> tuple[str, str]:
    """(bus name, object path) of a reference, or InvalidInputError saying what one looks like."""
    if isinstance(ref, str) and "/" in ref and len(ref) <= 512:
        bus, rest = ref.split("/", 1)
        path = "/" + rest if "/" in rest else _PREFIX + rest
        if _BUS_NAME.fullmatch(bus) and _PATH.fullmatch(path):
            return bus, path
    raise InvalidInputError(
        f"{ref!r:.80} is not a node reference: use a node's 'ref' from a snapshot (Desktop.accessibility()), "
        "such as ':1.24/154'"
    )


def _states(words: Sequence[int]) -> list[str]:
    bits = (int(words[0]) if words else 0) | (int(words[1]) << 32 if len(words) > 1 else 0)
    return [name for i, name in enumerate(STATES) if i and bits >> i & 1]


def _clip(text: Any, limit: int) -> str:
    text = text if isinstance(text, str) else ""
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def bus_address(session_bus: str, timeout: float = 10.0) -> str:
    """The AT-SPI bus of a desktop, asked of its session bus (``org.a11y.Bus.GetAddress``: D-Bus activation starts
    at-spi-bus-launcher if nothing did), after switching ``org.a11y.Status.IsEnabled`` on, which toolkits that watch
    it (Qt, Chromium, Firefox) take as the signal to join."""
    Message, MessageType, Variant, MessageBus = _dbus()
    try:
        bus = await asyncio.wait_for(MessageBus(bus_address=session_bus).connect(), timeout)
    except (OSError, asyncio.TimeoutError, Exception) as exc:
        raise AccessibilityError(f"the desktop's session bus ({session_bus}) does not answer: {exc}") from None
    try:
        def call(**kw: Any) -> Any:
            return asyncio.wait_for(bus.call(Message(destination="org.a11y.Bus", path="/org/a11y/bus", **kw)), timeout)

        await call(interface=_PROPS, member="Set", signature="ssv", body=["org.a11y.Status", "IsEnabled", Variant("b", True)])
        reply = await call(interface="org.a11y.Bus", member="GetAddress")
        if reply.message_type == MessageType.ERROR:
            raise AccessibilityError(
                f"the desktop has no accessibility bus ({reply.error_name}: {reply.body[0] if reply.body else ''}); "
                "install at-spi2-core (sudo apt-get install at-spi2-core)"
            )
        return str(reply.body[0])
    except asyncio.TimeoutError:
        raise AccessibilityError(f"the desktop's session bus gave no accessibility bus within {timeout:g} s") from None
    finally:
        bus.disconnect()


class AtspiClient:
    """One connection to a desktop's accessibility bus. Open with :meth:`connect`; :meth:`close` when done."""

    def __init__(self, bus: Any) -> None:
        self._bus = bus
        self._message_types = _dbus()[:2]
        self.call_timeout = CALL_TIMEOUT

    @classmethod
    async def connect(cls, address: str, timeout: float = 10.0) -> AtspiClient:
        MessageBus = _dbus()[3]
        try:
            bus = await asyncio.wait_for(MessageBus(bus_address=address).connect(), timeout)
        except asyncio.TimeoutError:
            raise AccessibilityError(f"the accessibility bus ({address}) did not answer within {timeout:g} s") from None
        except Exception as exc:
            raise AccessibilityError(f"cannot reach the accessibility bus ({address}): {exc}") from None
        return cls(bus)

    @property
    def connected(self) -> bool:
        return bool(self._bus.connected)

    def close(self) -> None:
        self._bus.disconnect()

    def _send(self, bus: str, path: str, interface: str, member: str, signature: str = "", body: Sequence[Any] = ()) -> asyncio.Future[list[Any]]:
        """Send one method call; the future gets its reply's body, or AccessibilityError (StaleNodeError when the
        object or its app is gone). No task per call: a snapshot sends thousands (dbus-fast's own ``call`` costs
        a coroutine and a timer each, which were most of a snapshot's time)."""
        Message, MessageType = self._message_types
        message = Message(destination=bus, path=path, interface=interface, member=member, signature=signature, body=list(body))
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()

        def replied(reply: Any, error: Exception | None) -> None:
            if future.done():
                return
            if error is not None:
                future.set_exception(AccessibilityError(f"the accessibility bus failed: {error}"))
            elif reply.message_type != MessageType.ERROR:
                future.set_result(list(reply.body))
            elif reply.error_name in _GONE:
                future.set_exception(StaleNodeError(
                    f"node {ref_of(bus, path)} is gone (its window or app closed): take a new snapshot with "
                    "Desktop.accessibility()"
                ))  # fmt: skip
            else:
                detail = reply.body[0] if reply.body else ""
                future.set_exception(AccessibilityError(f"{ref_of(bus, path)}: {member}: {reply.error_name}: {detail}"))

        if not self._bus.connected:
            future.set_exception(AccessibilityError("the accessibility bus closed"))
        else:
            try:
                self._bus._call(message, replied)  # dbus-fast's own call() is this plus a coroutine and a timer
            except Exception as exc:  # a message it cannot send (the bus closing under it)
                future.set_exception(AccessibilityError(f"cannot ask {ref_of(bus, path)}: {exc}"))
        future.add_done_callback(lambda f: f.cancelled() or f.exception())  # never "exception never retrieved"
        return future

    async def _settle(self, futures: Sequence[asyncio.Future[Any]], what: str = "") -> None:
        """Wait for ``futures``; those still open after ``call_timeout`` fail (an app that hangs)."""
        if not futures:
            return
        _, pending = await asyncio.wait(futures, timeout=self.call_timeout)
        for future in pending:
            future.set_exception(AccessibilityError(f"no answer within {self.call_timeout:g} s{what} (the app may hang)"))

    async def _call(self, bus: str, path: str, interface: str, member: str, signature: str = "", body: Sequence[Any] = ()) -> list[Any]:
        future = self._send(bus, path, interface, member, signature, body)
        await self._settle([future], f" to {member} from {ref_of(bus, path)}")
        return future.result()

    # ------------------------------------------------------------------ reading

    def _ask_basics(self, bus: str, path: str) -> list[asyncio.Future[list[Any]]]:
        return [
            self._send(bus, path, _ACC, "GetRole"),
            self._send(bus, path, _PROPS, "GetAll", "s", [_ACC]),
            self._send(bus, path, _ACC, "GetState"),
            self._send(bus, path, _ACC, "GetInterfaces"),
        ]

    @staticmethod
    def _read_basics(bus: str, path: str, answers: Sequence[asyncio.Future[list[Any]]], max_text: int) -> dict[str, Any]:
        """The node from its basic answers; raises the first error among them."""
        role, props, state, interfaces = (f.result() for f in answers)
        number = int(role[0])
        values = {k: v.value for k, v in props[0].items()}
        node: dict[str, Any] = {
            "ref": ref_of(bus, path),
            "role": ROLES[number] if 0 <= number < len(ROLES) else "unknown",
            "name": _clip(values.get("Name"), max_text),
            "states": _states(state[0]),
        }
        description = _clip(values.get("Description"), max_text)
        if description:
            node["description"] = description
        node["_children"] = int(values.get("ChildCount") or 0)
        node["_interfaces"] = {str(i).rsplit(".", 1)[-1] for i in interfaces[0]}
        return node

    def _ask_details(self, bus: str, path: str, node: dict[str, Any], max_text: int) -> dict[str, asyncio.Future[list[Any]]]:
        """Bounds, action names, text and value: what a node on the screen has."""
        interfaces = node["_interfaces"]
        asked: dict[str, asyncio.Future[list[Any]]] = {}
        if "Component" in interfaces:
            asked["bounds"] = self._send(bus, path, "org.a11y.atspi.Component", "GetExtents", "u", [0])
        if "Action" in interfaces:
            asked["actions"] = self._send(bus, path, "org.a11y.atspi.Action", "GetActions")
        if "Text" in interfaces and node["role"] != "password text" and (
            "EditableText" in interfaces or (not node["name"] and node["role"] not in _NO_TEXT)
        ):
            asked["text"] = self._send(bus, path, "org.a11y.atspi.Text", "GetText", "ii", [0, max_text])
            asked["count"] = self._send(bus, path, _PROPS, "Get", "ss", ["org.a11y.atspi.Text", "CharacterCount"])
        if "Value" in interfaces:
            asked["value"] = self._send(bus, path, _PROPS, "Get", "ss", ["org.a11y.atspi.Value", "CurrentValue"])
        return asked

    def _read_details(self, node: dict[str, Any], asked: Mapping[str, asyncio.Future[list[Any]]], max_text: int) -> None:
        node["bounds"], node["actions"] = None, []
        for key, future in asked.items():
            error = future.exception()
            if isinstance(error, StaleNodeError):
                raise error
            if error is not None:
                continue  # an interface that does not answer one question leaves the rest
            result = future.result()
            if key == "bounds":
                x, y, w, h = (int(v) for v in result[0])
                node["bounds"] = [x, y, w, h] if w > 0 and h > 0 and x > -(1 << 30) and y > -(1 << 30) else None
            elif key == "actions":
                node["actions"] = [str(a[0]) for a in result[0] if a and a[0]]
            elif key == "text":
                text = _clip(str(result[0]).replace("\ufffc", "").strip(), max_text)  # U+FFFC: a child's place
                if text or "EditableText" in node["_interfaces"]:
                    node["text"] = text
                count = asked["count"]
                if not result[0] and not count.exception() and int(count.result()[0].value) > 0:
                    node["_text_length"] = int(count.result()[0].value)  # Gecko: nothing for an end past the text
            elif key == "count":
                continue
            else:
                node["value"] = result[0].value

    async def _fill_text(self, bus: str, path: str, node: dict[str, Any], max_text: int) -> None:
        """Firefox answers GetText(0, n) with nothing when n is past the end of the text: ask for exactly it."""
        length = min(node.pop("_text_length"), max_text)
        answer = self._send(bus, path, "org.a11y.atspi.Text", "GetText", "ii", [0, length])
        await self._settle([answer])
        if not answer.exception():
            node["text"] = _clip(str(answer.result()[0]).replace("\ufffc", "").strip(), max_text)

    async def _action_names(self, bus: str, path: str) -> list[str]:
        """A node's action names ([] when it has none: no Action interface)."""
        answer = self._send(bus, path, "org.a11y.atspi.Action", "GetActions")
        await self._settle([answer], f" to GetActions from {ref_of(bus, path)}")
        error = answer.exception()
        if error is not None:
            if "UnknownMethod" in str(error):  # no Action interface
                return []
            raise error
        actions = answer.result()[0]
        names = [str(a[0]) for a in actions if a and a[0]]
        if actions and not names:
            holder: dict[str, Any] = {}
            await self._fill_action_names(bus, path, holder, len(actions))
            names = holder["actions"]
        return names

    async def _fill_action_names(self, bus: str, path: str, node: dict[str, Any], count: int) -> None:
        """Chromium answers GetActions with empty names; GetName(i) has them."""
        names = [self._send(bus, path, "org.a11y.atspi.Action", "GetName", "i", [i]) for i in range(min(count, 32))]
        await self._settle(names)
        node["actions"] = [str(f.result()[0]) for f in names if not f.exception() and f.result() and f.result()[0]]

    async def _describe(self, bus: str, path: str, max_text: int) -> dict[str, Any]:
        """One node, read whole (what command() works on)."""
        answers = self._ask_basics(bus, path)
        await self._settle(answers, f" from {ref_of(bus, path)}")
        node = self._read_basics(bus, path, answers, max_text)
        asked = self._ask_details(bus, path, node, max_text)
        await self._settle(list(asked.values()), f" from {ref_of(bus, path)}")
        self._read_details(node, asked, max_text)
        if _unnamed_actions(node, asked):
            await self._fill_action_names(bus, path, node, len(asked["actions"].result()[0]))
        if "_text_length" in node:
            await self._fill_text(bus, path, node, max_text)
        return node

    async def snapshot(
        self,
        app: str | None = None,
        show_all: bool = False,
        max_nodes: int = DEFAULT_NODES,
        max_depth: int = DEFAULT_DEPTH,
        max_text: int = DEFAULT_TEXT,
        timeout: float = 30.0,
    ) -> dict[str, Any]:
        """The tree, breadth first (a level's questions in flight together, :data:`CHUNK` nodes at a time) up to
        the limits, returned in document order. Without ``show_all`` only what is on the screen: nodes that are not
        ``showing`` are left out with their subtrees. ``app``: only applications whose name contains it (any
        case)."""
        check_limits(max_nodes, max_depth, max_text, timeout)
        if app is not None and (not isinstance(app, str) or len(app) > 200):
            raise InvalidInputError("app must be a part of an application's name (at most 200 characters)")
        try:
            return await asyncio.wait_for(self._walk(app, show_all, max_nodes, max_depth, max_text), timeout)
        except asyncio.TimeoutError:
            raise AccessibilityError(
                f"the accessibility tree took over {timeout:g} s (timeout); ask for less (app=..., max_nodes=...)"
            ) from None

    async def _walk(self, app: str | None, show_all: bool, max_nodes: int, max_depth: int, max_text: int) -> dict[str, Any]:
        started = time.monotonic()
        (apps,) = await self._call("org.a11y.atspi.Registry", _ROOT, _ACC, "GetChildren")
        level = [(str(b), str(p), -1) for b, p in apps]
        nodes: list[dict[str, Any]] = []
        truncated, depth = False, 0
        while level and not truncated:
            following: list[tuple[str, str, int]] = []
            for at in range(0, len(level), CHUNK):
                if len(nodes) >= max_nodes:
                    truncated = True
                    break
                chunk = level[at : at + CHUNK]
                basics = [self._ask_basics(b, p) for b, p, _ in chunk]
                await self._settle([f for answers in basics for f in answers], " (the app may hang)")
                kept: list[tuple[str, str, dict[str, Any]]] = []
                for (b, p, parent), answers in zip(chunk, basics):
                    try:
                        node = self._read_basics(b, p, answers, max_text)
                    except StaleNodeError:
                        continue  # gone while we looked
                    except AccessibilityError as exc:  # an app that hangs loses this node and its subtree
                        node = {"ref": ref_of(b, p), "role": "unknown", "name": "", "states": [], "_interfaces": set(),
                                "_children": 0, "error": str(exc)}  # fmt: skip
                    if depth == 0 and app is not None and app.lower() not in node["name"].lower():
                        continue
                    if not (show_all or depth == 0 or "showing" in node["states"]):
                        continue
                    if len(nodes) + len(kept) >= max_nodes:
                        truncated = True
                        break
                    node["depth"], node["parent"] = depth, parent
                    kept.append((b, p, node))
                details = [self._ask_details(b, p, node, max_text) for b, p, node in kept]
                wanted = [node["_children"] > 0 and "error" not in node for _, _, node in kept]
                if depth + 1 >= max_depth and any(wanted):
                    truncated, wanted = True, [False] * len(kept)
                children = [self._send(b, p, _ACC, "GetChildren") if want else None for (b, p, _), want in zip(kept, wanted)]
                await self._settle([f for asked in details for f in asked.values()] + [f for f in children if f])
                unnamed = []
                for (b, p, node), asked, kids in zip(kept, details, children):
                    try:
                        self._read_details(node, asked, max_text)
                    except StaleNodeError:
                        continue
                    if _unnamed_actions(node, asked):
                        unnamed.append(self._fill_action_names(b, p, node, len(asked["actions"].result()[0])))
                    if "_text_length" in node:
                        unnamed.append(self._fill_text(b, p, node, max_text))
                    index = len(nodes)
                    nodes.append(node)
                    if kids is not None and not kids.exception():
                        following += [(str(cb), str(cp), index) for cb, cp in kids.result()[0]
                                      if cb and cp != "/org/a11y/atspi/null"]  # fmt: skip
                await asyncio.gather(*unnamed)
            level = following
            depth += 1
        return {"nodes": _document_order(nodes), "truncated": truncated, "elapsed": round(time.monotonic() - started, 4),
                "limits": {"max_nodes": max_nodes, "max_depth": max_depth, "max_text": max_text}}  # fmt: skip

    # ------------------------------------------------------------------ acting

    async def command(self, ref: str, what: str, arg: str | None = None, max_text: int = DEFAULT_TEXT) -> dict[str, Any]:
        """``describe`` (the node as it is now), ``do`` (its action named ``arg``), ``set_text`` (replace its text
        with ``arg``) or ``focus``; answers the node as it is afterwards, with the AT-SPI ``interfaces`` it offers
        (``"gone": True`` when the command closed it, as a dialog's button does)."""
        if what not in COMMANDS:
            raise InvalidInputError(f"no node command {what!r:.40}: one of {', '.join(COMMANDS)}")
        bus, path = parse_ref(ref)
        if what == "do":  # the hot path of an agent: its action's names, the action, the node afterwards
            names = await self._action_names(bus, path)
            if not isinstance(arg, str) or arg.lower() not in [a.lower() for a in names]:
                node = await self._describe(bus, path, max_text)
                label = f"node {ref} ({node['role']} {node['name']!r:.60})"
                has = ", ".join(names) or "none"
                raise InvalidInputError(f"do needs an action's name; {label} has: {has}" if not isinstance(arg, str) or not arg
                                        else f"{label} has no action {arg!r:.40}; its actions: {has}")  # fmt: skip
            (done,) = await self._call(bus, path, "org.a11y.atspi.Action", "DoAction", "i",
                                       [[a.lower() for a in names].index(arg.lower())])  # fmt: skip
            if not done:
                raise AccessibilityError(f"node {ref} refused its action {arg!r}")
            try:
                node = await self._describe(bus, path, max_text)
            except StaleNodeError:  # done, and the node went with it: a dialog's button that closes the dialog
                return {"ref": ref, "gone": True}
            except AccessibilityError:  # done, and the app is slow to answer again
                return {"ref": ref}
            return {**_public(node), "interfaces": sorted(node["_interfaces"])}
        node = await self._describe(bus, path, max_text)
        if "defunct" in node["states"]:
            raise StaleNodeError(f"node {ref} is gone (defunct): take a new snapshot with Desktop.accessibility()")
        label = f"node {ref} ({node['role']} {node['name']!r:.60})"
        if what == "set_text":
            if not isinstance(arg, str) or len(arg) > MAX_TEXT:
                raise InvalidInputError(f"set_text needs a string of at most {MAX_TEXT} characters")
            if "EditableText" not in node["_interfaces"]:
                raise InvalidInputError(f"{label} is not editable text (it offers {', '.join(sorted(node['_interfaces']))})")
            (done,) = await self._call(bus, path, "org.a11y.atspi.EditableText", "SetTextContents", "s", [arg])
            if not done:
                raise AccessibilityError(f"{label} refused the text (is it read-only?)")
        elif what == "focus":
            if "Component" not in node["_interfaces"]:
                raise InvalidInputError(f"{label} cannot take the focus (no Component interface)")
            (done,) = await self._call(bus, path, "org.a11y.atspi.Component", "GrabFocus")
            if not done:
                raise AccessibilityError(f"{label} did not take the focus (is it focusable and showing?)")
        if what != "describe":
            try:
                node = await self._describe(bus, path, max_text)
            except StaleNodeError:  # done, and the node went with it: a dialog's button that closes the dialog
                return {**_public(node), "interfaces": sorted(node["_interfaces"]), "gone": True}
            except AccessibilityError:  # done, and the app is slow to answer again: the node as it was
                pass
        return {**_public(node), "interfaces": sorted(node["_interfaces"])}


def _unnamed_actions(node: dict[str, Any], asked: Mapping[str, asyncio.Future[list[Any]]]) -> bool:
    """Whether the node has actions whose names GetActions left empty (Chromium's)."""
    future = asked.get("actions")
    return bool(future is not None and not node["actions"] and not future.exception() and future.result()[0])


def _public(node: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in node.items() if not k.startswith("_")}


def _document_order(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Breadth-first nodes (``parent``: an index into that list) in document order, ``parent`` renumbered."""
    children: dict[int, list[int]] = {}
    for i, node in enumerate(nodes):
        children.setdefault(node["parent"], []).append(i)
    order: list[int] = []
    stack = list(reversed(children.get(-1, [])))
    while stack:
        i = stack.pop()
        order.append(i)
        stack.extend(reversed(children.get(i, [])))
    where = {old: new for new, old in enumerate(order)}
    out = []
    for i in order:
        node = _public(nodes[i])
        node["parent"] = where.get(node["parent"], -1)
        out.append(node)
    return out
