"""Who may watch or take over whose desktops in the class page: JupyterHub scopes, read the way the hub reads them.

Two custom scopes (deploy/jupyterhub_config.py defines them with ``c.JupyterHub.custom_scopes``):

- ``custom:desktops:view``: watch a server's desktops in the class page, view-only;
- ``custom:desktops:control``: also send them keys, pointer and clipboard (take over); it holds ``view``.

Like any JupyterHub scope they take the filters ``!user=``, ``!group=``, ``!server=`` (or none: everyone's). A
viewer holds them through the OAuth token the hub gave the class page (its roles, intersected with what the service
asks for) and through JupyterHub shares granted to the viewer (a student sharing a view of their server). The hub
resolves a ``!group=`` filter only inside itself, so this module resolves it with the owner's groups, which the
service reads from the hub.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

VIEW = "custom:desktops:view"
CONTROL = "custom:desktops:control"

NONE, WATCH, TAKE_OVER = 0, 1, 2  # what a viewer may do with a server's desktops

__all__ = ["VIEW", "CONTROL", "NONE", "WATCH", "TAKE_OVER", "Grants", "share_scope"]


def share_scope(owner: str, server: str = "") -> str:
    """The scope a view-only share of ``owner``'s server grants (the class page creates such shares)."""
    return f"{VIEW}!server={owner}/{server}"


@dataclass
class _Filters:
    everyone: bool = False
    users: set[str] = field(default_factory=set)
    groups: set[str] = field(default_factory=set)
    servers: set[str] = field(default_factory=set)  # "owner/server name"

    def cover(self, owner: str, groups: Iterable[str], server: str) -> bool:
        return (
            self.everyone
            or owner in self.users
            or bool(self.groups.intersection(groups))
            or f"{owner}/{server}" in self.servers
        )


class Grants:
    """The desktop scopes among a set of (expanded) JupyterHub scopes, and what they allow on a given server."""

    def __init__(self, scopes: Iterable[str]) -> None:
        self._by_base: dict[str, _Filters] = {VIEW: _Filters(), CONTROL: _Filters()}
        for scope in scopes:
            self.add(scope)

    def add(self, scope: str) -> None:
        base, _, filter_ = scope.partition("!")
        filters = self._by_base.get(base)
        if filters is None:
            return
        if not filter_:
            filters.everyone = True
            return
        kind, _, value = filter_.partition("=")
        if not value:
            return  # an unexpanded "!user" names nobody here
        if kind == "user":
            filters.users.add(value)
        elif kind == "group":
            filters.groups.add(value)
        elif kind == "server":
            filters.servers.add(value)

    def level(self, owner: str, groups: Iterable[str], server: str = "") -> int:
        """NONE, WATCH or TAKE_OVER for ``owner``'s server named ``server`` ("" the default one)."""
        groups = set(groups)
        if self._by_base[CONTROL].cover(owner, groups, server):
            return TAKE_OVER
        if self._by_base[VIEW].cover(owner, groups, server):
            return WATCH
        return NONE

    def __bool__(self) -> bool:
        return any(f.everyone or f.users or f.groups or f.servers for f in self._by_base.values())
