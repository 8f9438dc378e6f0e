"""The jupyter-server extension: REST API, VNC WebSocket proxy and pages over the DesktopManager."""

from .app import DesktopExtension

__all__ = ["DesktopExtension"]
