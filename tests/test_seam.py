"""The seam (jupyter_desktop.protocols): both sessions and both hubs match their Protocol signature for signature,
so they cannot drift; and Desktop knows only the Protocols."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import jupyter_desktop.desktop
from jupyter_desktop.desktop import LocalHub
from jupyter_desktop.protocols import DesktopHub, DesktopSession
from jupyter_desktop.remote import RemoteSession, ServerHub
from jupyter_desktop.session import Session


def operations(protocol: type) -> list[str]:
    return sorted(name for name, value in vars(protocol).items() if inspect.isfunction(value) and not name.startswith("_"))


def shape(function: object) -> list[tuple[str, object, object]]:
    return [(p.name, p.kind, p.default) for p in inspect.signature(function).parameters.values()]


@pytest.mark.parametrize(
    ("implementation", "protocol"),
    [(Session, DesktopSession), (RemoteSession, DesktopSession), (LocalHub, DesktopHub), (ServerHub, DesktopHub)],
)
def test_implementation_matches_its_protocol(implementation: type, protocol: type) -> None:
    assert len(operations(protocol)) >= 5
    for name in operations(protocol):
        ours, declared = getattr(implementation, name, None), getattr(protocol, name)
        assert ours is not None, f"{implementation.__name__} has no {name}()"
        assert shape(ours) == shape(declared), f"{implementation.__name__}.{name}{inspect.signature(ours)} != {inspect.signature(declared)}"
        assert inspect.iscoroutinefunction(ours) == inspect.iscoroutinefunction(declared), f"{name}: async or not"


def test_desktop_does_not_ask_which_session_it_has() -> None:
    """No isinstance on a session or hub class in desktop.py: it calls the Protocols and nothing else."""
    tree = ast.parse(Path(jupyter_desktop.desktop.__file__).read_text())
    named = {"Session", "RemoteSession", "LocalHub", "ServerHub", "DesktopManager"}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "isinstance":
            kinds = node.args[1]
            names = {getattr(e, "id", None) for e in (kinds.elts if isinstance(kinds, ast.Tuple) else [kinds])}
            assert not names & named, ast.unparse(node)
