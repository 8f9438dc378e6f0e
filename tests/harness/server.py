"""A Jupyter server as its own process: `jupyter server`, JupyterLab or Notebook 7, with our server extension (or
without it), on a free TCP port or a unix socket, under a base URL; the tests and the benchmarks start every
Jupyter server process they need through ``JupyterServer``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from typing import Any
from pathlib import Path

import httpx

from .waiting import eventually

TOKEN = "test-token-123"  # every server's: ?token= in the browser, Authorization: token ... in requests
ROOT = Path(__file__).resolve().parents[2]
# The JupyterLab extension as built in this checkout (`npm run build`). An editable install copies it into the
# venv's share/jupyter/labextensions once, at install time: JupyterLab and Notebook 7 here load this build
# instead (extra_labextensions_path comes first), so the browser tests test the code they sit next to.
LABEXTENSION = ROOT / "jupyter_desktop" / "labextension"
# What a JupyterHub (>= 4.1) single-user server sends on every response: no page of it may be framed, even by
# the same origin (jupyterhub/singleuser/extension.py: headers.setdefault("Content-Security-Policy", ...)).
HUB_HEADERS_CONFIG = """c.ServerApp.tornado_settings = {"headers": {"Content-Security-Policy": "frame-ancestors 'none'"}}\n"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def extension_routes() -> list[tuple[str, type]]:
    """Every route the extension registers, exactly as the server gets them."""
    from jupyter_desktop.server.app import DesktopExtension

    app = DesktopExtension()
    app.handlers = []
    app.initialize_handlers()
    return [(r[0], r[1]) for r in app.handlers]


class JupyterServer:
    """`jupyter server` (or ``app``: jupyterlab, notebook) as its own process, with our extension enabled by its
    installed config, or disabled (``extension=False``); returns once it answers.

    ``base_url``: the server's prefix (JupyterHub's is /user/<name>/). ``sock``: listen on this unix socket instead
    of TCP. ``config``: the text of a jupyter_server_config.py for it (e.g. HUB_HEADERS_CONFIG; the installed
    config in sys.prefix/etc still applies). ``export_env=False``: its kernels get no JUPYTER_DESKTOP_* variables.
    ``args``: more command-line options. JupyterLab and Notebook 7 load this checkout's labextension build when
    there is one. Its runtime directory (kernels' connection files, jpserver-<pid>.json) is ``root/runtime``, its
    log ``log_path``; JUPYTER_DESKTOP_* variables of this process do not reach it."""

    def __init__(
        self,
        root: Path,
        port: int | None = None,
        *,
        app: str = "jupyter_server",
        base_url: str = "/",
        sock: str | None = None,
        args: tuple[str, ...] = (),
        config: str = "",
        extension: bool = True,
        export_env: bool = True,
    ) -> None:
        self.root = root
        self.runtime = root / "runtime"
        self.extension = extension
        self.port = port or free_port()
        self.sock = sock
        self.origin = "http://localhost" if sock else f"http://127.0.0.1:{self.port}"
        self.url = self.origin + base_url
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("JUPYTER_DESKTOP_")}
        self.env["JUPYTER_RUNTIME_DIR"] = str(self.runtime)
        # JupyterLab / Notebook 7 keep settings and workspaces (open tabs) here, not in ~/.jupyter
        self.env["JUPYTERLAB_SETTINGS_DIR"] = str(root / "lab-settings")
        self.env["JUPYTERLAB_WORKSPACES_DIR"] = str(root / "lab-workspaces")
        if config:
            (root / "config").mkdir(exist_ok=True)
            (root / "config" / "jupyter_server_config.py").write_text(config)
            self.env["JUPYTER_CONFIG_DIR"] = str(root / "config")
        options = [] if export_env else ["--DesktopExtension.export_env=False"]
        if app != "jupyter_server" and (LABEXTENSION / "package.json").is_file():
            link = root / "labextensions" / "jupyter-desktop"
            if not link.is_symlink():
                link.parent.mkdir(exist_ok=True)
                link.symlink_to(LABEXTENSION, target_is_directory=True)
            options.append(f"--LabServerApp.extra_labextensions_path={root / 'labextensions'}")
        if not extension:
            options.append("--ServerApp.jpserver_extensions=jupyter_desktop=False")
        self.log_path = root / f"server-{self.port}.log"
        self.log = open(self.log_path, "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", app, "--allow-root", "--no-browser",
             *([f"--sock={sock}"] if sock else [f"--port={self.port}", "--ServerApp.port_retries=0"]),
             f"--IdentityProvider.token={TOKEN}", f"--ServerApp.root_dir={root}", f"--ServerApp.base_url={base_url}",
             *options, *args],
            env=self.env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        eventually(self.ready, timeout=60, what="jupyter server up")

    def ready(self) -> bool:
        """It answers: the desktop API lists desktops, or without the extension the server answers and the desktop
        API is not there."""
        assert self.process.poll() is None, self.log_path.read_text()[-3000:]
        try:
            if self.extension:
                return self.api("GET", timeout=2).status_code == 200
            if self.request("GET", "api/status", timeout=2).status_code != 200:
                return False
            desktops = self.api("GET", timeout=2).status_code
        except httpx.HTTPError:
            return False
        assert desktops == 404, f"desktop API answered {desktops}"
        return True

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"token {TOKEN}"}

    def request(self, method: str, path: str, timeout: float = 120, **kwargs) -> httpx.Response:
        """A request with the token to ``path`` under the base URL (through the unix socket when it listens on one)."""
        transport = httpx.HTTPTransport(uds=self.sock) if self.sock else None
        with httpx.Client(headers=self.auth, timeout=timeout, transport=transport) as client:
            return client.request(method, self.url + path, **kwargs)

    def api(self, method: str, path: str = "", timeout: float = 120, **kwargs) -> httpx.Response:
        """The desktop REST API: ``path`` after desktop/api/desktops ("", "/<id>", "/<id>/exec" ...)."""
        return self.request(method, "desktop/api/desktops" + path, timeout, **kwargs)

    def stop(self, sig: int = signal.SIGTERM) -> int:
        """Send ``sig`` and wait (60 s at most: then subprocess.TimeoutExpired); returns the exit code. Desktops are
        left to the server: what it does with them when it stops is what some tests check."""
        if self.process.poll() is None:
            self.process.send_signal(sig)
        code = self.process.wait(60)
        self.log.close()
        return code

    def shutdown(self) -> None:
        """A fixture's teardown: delete the desktops it lists (with the extension), SIGTERM, SIGKILL when it has
        not exited 60 s later."""
        try:
            if self.extension:
                for d in self.api("GET", timeout=10).json():
                    self.api("DELETE", f"/{d['id']}")
        finally:
            try:
                self.stop()
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.log.close()


def requests_of(desktop: Any) -> list[str]:
    """The REST requests a kernel-side Desktop's session makes from now on, "METHOD url", recorded as they go."""
    seen: list[str] = []
    client = desktop._session.client
    original = client.request

    async def request(method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        seen.append(f"{method} {url}")
        return await original(method, url, *args, **kwargs)

    client.request = request
    return seen
