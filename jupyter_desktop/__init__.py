"""jupyter_desktop: a live Linux desktop inside Jupyter, driven from Python.

>>> from jupyter_desktop import Desktop
>>> d = Desktop()
>>> d.launch("xterm")
>>> d.write("echo hello\\n")
>>> d.screenshot()
"""

from .accessibility import AccessibilityTree, AccessibleNode
from .backends.base import DesktopSpec, RunResult
from .desktop import Desktop, Process
from .errors import (
    AccessibilityError,
    ActionDeniedError,
    DesktopBusyError,
    DesktopClosedError,
    DesktopError,
    DesktopNotFoundError,
    DesktopStartError,
    ExistingFileError,
    InputLimitError,
    InvalidInputError,
    LimitError,
    MissingDependencyError,
    NoSuchFileError,
    RecordingLimitError,
    RFBAuthError,
    RFBError,
    RFBProtocolError,
    StaleNodeError,
    TakenOverError,
)
from .trajectory import Recorder, Step, Trajectory
from .xtools import Window

__version__ = "0.1.0"


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext jupyter_desktop``: the ``%desktop`` magic; screenshots shown inline."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: object) -> None:
    from .magics import unload_ipython_extension as unload

    unload(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """The prebuilt JupyterLab extension (the launcher tile), for ``jupyter labextension develop``."""
    return [{"src": "labextension", "dest": "jupyter-desktop"}]


def _jupyter_server_extension_points() -> list[dict[str, object]]:
    from .server import DesktopExtension

    return [{"module": "jupyter_desktop", "app": DesktopExtension}]

__all__ = [
    "Desktop",
    "DesktopSpec",
    "Process",
    "RunResult",
    "Window",
    "Recorder",
    "Step",
    "Trajectory",
    "AccessibilityTree",
    "AccessibleNode",
    "DesktopError",
    "ActionDeniedError",
    "TakenOverError",
    "AccessibilityError",
    "StaleNodeError",
    "DesktopClosedError",
    "DesktopNotFoundError",
    "DesktopStartError",
    "InvalidInputError",
    "InputLimitError",
    "DesktopBusyError",
    "LimitError",
    "MissingDependencyError",
    "NoSuchFileError",
    "ExistingFileError",
    "RecordingLimitError",
    "RFBError",
    "RFBAuthError",
    "RFBProtocolError",
    "__version__",
]
