"""Our own RFB (VNC) client: the control plane every backend shares."""

from .client import Cursor, RFBClient

__all__ = ["RFBClient", "Cursor"]
