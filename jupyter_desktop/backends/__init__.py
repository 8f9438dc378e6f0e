"""Ways of running a desktop. ``base`` is the contract; ``local`` and ``docker`` implement it."""

from .base import Backend, BackendDesktop, DesktopSpec, LaunchedProcess, RFBEndpoint, RunResult

__all__ = ["Backend", "BackendDesktop", "DesktopSpec", "LaunchedProcess", "RFBEndpoint", "RunResult"]
