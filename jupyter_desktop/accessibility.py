"""The accessibility tree as a user holds it: ``Desktop.accessibility()`` answers an :class:`AccessibilityTree`.

::

    tree = d.accessibility()                          # what is on the screen now, from the desktop's AT-SPI bus
    yes = tree.find(role="push button", name="Yes")   # name: a part of it (any case) or a compiled regex
    yes[0].click()                                    # the pointer at its middle, as a person clicks
    field.set_text("hello"); field.refresh().text     # replace a field's text, read it back
    node.do("press"); node.focus()                    # an action the widget offers; the keyboard focus
    print(d.accessibility(format="text"))             # a compact outline for a language model

A node's ``ref`` stays valid while its widget lives (until its window closes); acting on a node that is gone
raises :class:`~jupyter_desktop.errors.StaleNodeError`. The snapshot itself is read by the session, where the
desktop is held (:mod:`jupyter_desktop.atspi`), never in the kernel.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .atspi import ROLES, STATES
from .errors import InvalidInputError

if TYPE_CHECKING:
    from .desktop import Desktop

__all__ = ["AccessibilityTree", "AccessibleNode", "outline"]

# Containers that say nothing by themselves: the outline shows their children in their place.
_PLAIN = frozenset({"filler", "panel", "section", "grouping", "unknown", "redundant object", "invalid", "layered pane",
                    "root pane", "glass pane", "scroll pane", "viewport", "static", "html container"})  # fmt: skip
# States worth a word in the outline (the usual ones, enabled, showing, visible ..., go without saying).
_TOLD = ("focused", "checked", "selected", "pressed", "expanded", "collapsed", "indeterminate", "modal", "read-only")


class AccessibleNode:
    """One widget: ``role``, ``name``, ``description``, ``states``, ``bounds`` (x, y, width, height in screen
    pixels, or None), ``actions`` (the names :meth:`do` takes), ``text`` (editable text), ``value``, ``ref``,
    ``parent`` and ``children``."""

    def __init__(self, desktop: Desktop | None, data: dict[str, Any]) -> None:
        self._desktop = desktop
        self.data = data
        self.ref: str = data["ref"]
        self.role: str = data.get("role", "unknown")
        self.name: str = data.get("name", "")
        self.description: str = data.get("description", "")
        self.states: list[str] = list(data.get("states", []))
        bounds = data.get("bounds")
        self.bounds: tuple[int, int, int, int] | None = tuple(bounds) if bounds else None  # type: ignore[assignment]
        self.actions: list[str] = list(data.get("actions", []))
        self.text: str | None = data.get("text")
        self.value: Any = data.get("value")
        self.depth: int = data.get("depth", 0)
        self.error: str | None = data.get("error")
        #: True when a command on it took it away (its window closed): it is as it was before
        self.gone: bool = bool(data.get("gone"))
        self.parent: AccessibleNode | None = None
        self.children: list[AccessibleNode] = []

    @property
    def center(self) -> tuple[int, int] | None:
        """The middle of its bounds (where :meth:`click` clicks), or None."""
        if not self.bounds:
            return None
        x, y, w, h = self.bounds
        return x + w // 2, y + h // 2

    def _act(self, command: str, arg: str | None = None) -> AccessibleNode:
        if self._desktop is None:
            raise InvalidInputError("this node is not bound to a desktop")
        after = self._desktop._accessible_command(self, command, arg)
        # a node its command took away (a dialog's button), or one that did not answer again: as it was
        return AccessibleNode(self._desktop, after if "role" in after else {**self.data, **after})

    def click(self) -> None:
        """Click its middle with the pointer, as a person would (through the approval policy, recorded as input)."""
        self._act("click")

    def do(self, action: str) -> AccessibleNode:
        """Its action named ``action`` (one of :attr:`actions`, any case: "click", "press", "activate" ...), with
        no pointer; answers the node afterwards."""
        return self._act("do", action)

    def set_text(self, text: str) -> AccessibleNode:
        """Replace its text (AT-SPI's EditableText; for a field without it, such as Chromium's, focus, select all
        and type); answers the node afterwards, whose ``text`` reads it back."""
        return self._act("set_text", text)

    def focus(self) -> AccessibleNode:
        """Give it the keyboard focus."""
        return self._act("focus")

    def refresh(self) -> AccessibleNode:
        """The node as it is now (a new object: its states, bounds, text)."""
        return self._act("describe")

    def to_dict(self) -> dict[str, Any]:
        return dict(self.data)

    def __iter__(self) -> Iterator[AccessibleNode]:
        return iter(self.children)

    def __repr__(self) -> str:
        where = f" at {self.bounds}" if self.bounds else ""
        return f"<{self.role} {self.name!r}{where} ref={self.ref}>"


def _check_role(role: str | None) -> None:
    if role is not None and role not in ROLES:
        close = difflib.get_close_matches(str(role), ROLES, n=3)
        hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
        raise InvalidInputError(f"no AT-SPI role {role!r:.60}{hint} (roles: jupyter_desktop.atspi.ROLES)")


def matcher(role: str | None = None, name: str | re.Pattern[str] | None = None,
            states: Sequence[str] | str | None = None, text: str | re.Pattern[str] | None = None) -> Any:  # fmt: skip
    """A test of a node's data (a snapshot's dict) for ``find``; checked first (an unknown role or state raises)."""
    _check_role(role)
    wanted = [states] if isinstance(states, str) else list(states or [])
    for state in wanted:
        if state not in STATES:
            raise InvalidInputError(f"no AT-SPI state {state!r:.60} (states: jupyter_desktop.atspi.STATES)")
    for label, value in (("name", name), ("text", text)):
        if value is not None and not isinstance(value, (str, re.Pattern)):
            raise InvalidInputError(f"{label} must be a string (a part of it, any case) or a compiled regex")

    def matches(pattern: str | re.Pattern[str] | None, value: Any) -> bool:
        if pattern is None:
            return True
        if not isinstance(value, str):
            return False
        return bool(pattern.search(value)) if isinstance(pattern, re.Pattern) else pattern.lower() in value.lower()

    def test(data: dict[str, Any]) -> bool:
        if role is not None and data.get("role") != role:
            return False
        if not (matches(name, data.get("name", "")) and matches(text, data.get("text"))):
            return False
        return all(s in data.get("states", ()) for s in wanted)

    return test


class AccessibilityTree:
    """A snapshot of a desktop's widgets (:meth:`Desktop.accessibility`): ``nodes`` in document order, ``roots``
    (the applications), ``truncated`` (a limit cut it short), ``elapsed`` (seconds to read it)."""

    def __init__(self, desktop: Desktop | None, snapshot: dict[str, Any]) -> None:
        self.snapshot = snapshot
        self.truncated: bool = bool(snapshot.get("truncated"))
        self.elapsed: float = float(snapshot.get("elapsed", 0.0))
        self.nodes = [AccessibleNode(desktop, data) for data in snapshot.get("nodes", [])]
        self.roots: list[AccessibleNode] = []
        for node, data in zip(self.nodes, snapshot.get("nodes", [])):
            parent = data.get("parent", -1)
            if 0 <= parent < len(self.nodes):
                node.parent = self.nodes[parent]
                node.parent.children.append(node)
            else:
                self.roots.append(node)

    def find(self, role: str | None = None, name: str | re.Pattern[str] | None = None,
             states: Sequence[str] | str | None = None,
             text: str | re.Pattern[str] | None = None) -> list[AccessibleNode]:  # fmt: skip
        """The nodes with that role (AT-SPI's name for it: "push button", "entry", "menu item" ...), a name that
        contains ``name`` (any case; or matches a compiled regex), all of ``states`` ("focused", "checked" ...)
        and a ``text`` (a field's, or a paragraph's without a name) that contains ``text``."""
        test = matcher(role, name, states, text)
        return [node for node in self.nodes if test(node.data)]

    def text(self) -> str:
        """The outline (see :func:`outline`)."""
        return outline(self.snapshot)

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[AccessibleNode]:
        return iter(self.nodes)

    def __getitem__(self, index: int) -> AccessibleNode:
        return self.nodes[index]

    def __repr__(self) -> str:
        apps = ", ".join(repr(r.name) for r in self.roots)
        cut = ", truncated" if self.truncated else ""
        return f"<AccessibilityTree: {len(self.nodes)} nodes of {apps or 'no application'}{cut}>"

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.text())


def _line(data: dict[str, Any], indent: int, scale: float) -> str:
    parts = ["  " * indent + f"- {data.get('role', 'unknown')}"]
    if data.get("name"):
        parts.append(repr(data["name"]))
    bounds = data.get("bounds")
    if bounds:
        x, y, w, h = (round(v * scale) for v in bounds)
        parts.append(f"@{x},{y} {w}x{h}")
    told = [s for s in _TOLD if s in data.get("states", ())]
    if "enabled" not in data.get("states", ()) and data.get("actions"):
        told.append("disabled")
    if told:
        parts.append(" ".join(told))
    if data.get("text"):
        parts.append(f"text={data['text']!r}")
    if data.get("value") is not None:
        parts.append(f"value={data['value']!r}")
    if data.get("error"):
        parts.append(f"(error: {data['error']})")
    parts.append(f"[{data['ref']}]")
    return " ".join(parts)


def outline(snapshot: dict[str, Any], scale: float = 1.0) -> str:
    """A snapshot as a compact outline for a language model: one line a widget (role, name, ``@x,y wxh`` bounds,
    states of note, text, value, ``[ref]``), nameless containers left out (their children take their place).
    ``scale``: multiply bounds by it (an agent adapter's screenshot scale)."""
    nodes = snapshot.get("nodes", [])
    indents: list[int] = []
    lines = []
    for data in nodes:
        parent = data.get("parent", -1)
        base = indents[parent] if 0 <= parent < len(indents) else 0
        plain = (data.get("role") in _PLAIN and not data.get("name") and not data.get("actions")
                 and data.get("text") is None and parent >= 0)  # fmt: skip
        if plain:
            indents.append(base)  # its children at its own level
            continue
        indents.append(base + 1)
        lines.append(_line(data, base, scale))
    if snapshot.get("truncated"):
        lines.append(f"(cut short by a limit: {snapshot.get('limits')})")
    return "\n".join(lines)
