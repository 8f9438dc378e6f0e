"""Exceptions raised by jupyter_desktop. Each message says what to do about it.

::

    DesktopError (RuntimeError)          anything this package raises on purpose
    ├── DesktopClosedError               the desktop was closed, or died
    │   └── DesktopNotFoundError (KeyError)   no desktop with that id here
    ├── DesktopStartError                a desktop did not come up
    ├── InvalidInputError (ValueError)   bad arguments
    │   ├── InputLimitError              too much at once (the message names the limit)
    │   ├── NoSuchFileError              no such file or directory on the desktop (d.files)
    │   └── ExistingFileError            the file is there already (d.files.write(..., exclusive=True))
    ├── DesktopBusyError                 a queue of action batches: try again shortly
    ├── LimitError                       one more desktop would pass the configured maximum
    ├── MissingDependencyError           a program the desktop needs is not installed
    ├── RecordingLimitError              a recording reached its size limit, or the disk is full
    ├── ActionDeniedError                the approval policy or a person refused an action
    ├── TakenOverError                   a person holds the desktop
    ├── AccessibilityError               no accessibility (AT-SPI) bus, or an app did not answer on it
    │   └── StaleNodeError (KeyError)    the accessible node is gone (its window closed): take a new snapshot
    └── RFBError                         the RFB (VNC) connection failed
        ├── RFBProtocolError
        └── RFBAuthError

Under a Jupyter server the same classes cross the wire: an error reply names the class (``"error"``), and the
kernel raises that class again (:data:`BY_NAME`); ``TimeoutError`` is Python's own.
"""

from __future__ import annotations

__all__ = [
    "DesktopError",
    "DesktopClosedError",
    "DesktopNotFoundError",
    "DesktopStartError",
    "InvalidInputError",
    "InputLimitError",
    "NoSuchFileError",
    "ExistingFileError",
    "DesktopBusyError",
    "LimitError",
    "MissingDependencyError",
    "RecordingLimitError",
    "ActionDeniedError",
    "TakenOverError",
    "AccessibilityError",
    "StaleNodeError",
    "RFBError",
    "RFBProtocolError",
    "RFBAuthError",
    "BY_NAME",
]


class DesktopError(RuntimeError):
    """Base class of every error this package raises on purpose."""


class DesktopClosedError(DesktopError):
    """The desktop was closed (or died); start a new one with Desktop()."""


class DesktopNotFoundError(DesktopClosedError, KeyError):
    """No desktop with that id here."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "desktop not found"


class DesktopStartError(DesktopError):
    """A desktop did not come up; the message carries the server's last log lines."""


class InvalidInputError(DesktopError, ValueError):
    """Bad arguments: off-screen coordinates, an unknown key name, a malformed action."""


class InputLimitError(InvalidInputError):
    """Too much at once: text too long, a batch too big or too slow, a body too large. The message names the
    limit; split the work into smaller requests."""


class NoSuchFileError(InvalidInputError):
    """No file or directory at that path on the desktop (``d.files``); the message names the path. HTTP 404."""


class ExistingFileError(InvalidInputError):
    """A write that may not replace a file found one there (``d.files.write(..., exclusive=True)``). HTTP 409."""


class DesktopBusyError(DesktopError):
    """The desktop is busy with other requests (a queue of action batches); try again shortly."""


class LimitError(DesktopError):
    """Starting one more desktop would pass the configured maximum."""


class MissingDependencyError(DesktopError):
    """A program the desktop needs is not installed; the message names the package."""


class RecordingLimitError(DesktopError):
    """A recording (``Desktop.record``) reached its size limit (``max_bytes``) or the disk is full. It stopped
    cleanly and what it wrote is valid; the message names the limit."""


class ActionDeniedError(DesktopError):
    """The approval policy, or a person asked by it, refused an action (``Desktop.approve``): nothing was sent.
    An agent adapter hands it to the model as an error result."""


class TakenOverError(DesktopError):
    """A person holds the desktop (``take_over``): agent input waits until it is handed back, or raises this when
    the caller chose so (``Desktop.when_taken_over = "raise"``) or the wait ran out."""


class AccessibilityError(DesktopError):
    """The desktop has no accessibility (AT-SPI) bus, or an app on it did not answer in time; the message says why
    and what to do."""


class StaleNodeError(AccessibilityError, KeyError):
    """The accessible node is gone (its window or app closed, or the app rebuilt that part of its tree): take a new
    snapshot with ``Desktop.accessibility()``."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else "the accessible node is gone"


class RFBError(DesktopError):
    """The RFB (VNC) connection failed."""


class RFBProtocolError(RFBError):
    """The VNC server sent something malformed, truncated, or nothing in time."""


class RFBAuthError(RFBError):
    """The VNC server refused our credentials or offered no security type we speak."""


#: The classes an error reply may name, by name (and Python's TimeoutError).
BY_NAME: dict[str, type[Exception]] = {
    cls.__name__: cls
    for cls in (
        DesktopError,
        DesktopClosedError,
        DesktopNotFoundError,
        DesktopStartError,
        InvalidInputError,
        InputLimitError,
        NoSuchFileError,
        ExistingFileError,
        DesktopBusyError,
        LimitError,
        MissingDependencyError,
        RecordingLimitError,
        ActionDeniedError,
        TakenOverError,
        AccessibilityError,
        StaleNodeError,
        RFBError,
        RFBProtocolError,
        RFBAuthError,
        TimeoutError,
    )
}
