"""Exceptions raised by jupyter_desktop. Each message says what to do about it."""

from __future__ import annotations

__all__ = [
    "DesktopError",
    "DesktopClosedError",
    "DesktopStartError",
    "InvalidInputError",
    "InputLimitError",
    "DesktopBusyError",
    "MissingDependencyError",
    "RFBError",
    "RFBProtocolError",
    "RFBAuthError",
]


class DesktopError(RuntimeError):
    """Base class of every error this package raises on purpose."""


class DesktopClosedError(DesktopError):
    """The desktop was closed (or died); start a new one with Desktop()."""


class DesktopStartError(DesktopError):
    """A desktop did not come up; the message carries the server's last log lines."""


class InvalidInputError(DesktopError, ValueError):
    """Bad arguments: off-screen coordinates, an unknown key name, a malformed action."""


class InputLimitError(InvalidInputError):
    """Too much at once: text too long, a batch too big or too slow, a body too large. The message names the
    limit; split the work into smaller requests."""


class DesktopBusyError(DesktopError):
    """The desktop is busy with other requests (a queue of action batches); try again shortly."""


class MissingDependencyError(DesktopError):
    """A program the desktop needs is not installed; the message names the package."""


class RFBError(DesktopError):
    """The RFB (VNC) connection failed."""


class RFBProtocolError(RFBError):
    """The VNC server sent something malformed, truncated, or nothing in time."""


class RFBAuthError(RFBError):
    """The VNC server refused our credentials or offered no security type we speak."""
