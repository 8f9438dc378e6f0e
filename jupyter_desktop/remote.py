"""The kernel's side of the server: find the Jupyter server, and drive its desktops over REST.

``RemoteSession`` has the same async methods as :class:`~jupyter_desktop.session.Session`, so
``Desktop`` works the same whether its desktop lives in this process or under the server.

The server is found, in order, from: the variables the server extension puts in the server's environment
(kernels inherit them), the runtime file ``jpserver-<pid>.json`` of the kernel's parent server, and
JupyterHub's variables. Each candidate must answer our API within a short timeout, else the next is tried;
with none, ``Desktop`` runs its desktop in-process.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import httpx
from PIL import Image

from .backends.base import LaunchedProcess, RunResult
from .errors import (
    DesktopBusyError,
    DesktopClosedError,
    DesktopError,
    DesktopStartError,
    InputLimitError,
    InvalidInputError,
    MissingDependencyError,
)
from .session import Window

__all__ = ["Server", "find_server", "RemoteSession", "RemoteProcess"]

API = "desktop/api/desktops"
PROBE_TIMEOUT = 2.0
TIMEOUT = httpx.Timeout(60.0, connect=5.0)


@dataclass(frozen=True)
class Server:
    """A Jupyter server with our extension: its base URL (ending in /) and how to authenticate."""

    url: str
    token: str = ""
    sock: str | None = None  # a unix socket the server listens on instead of TCP

    def client(self, timeout: httpx.Timeout | float = TIMEOUT) -> httpx.AsyncClient:
        headers = {"Authorization": f"token {self.token}"} if self.token else {}
        transport = httpx.AsyncHTTPTransport(uds=self.sock) if self.sock else None
        return httpx.AsyncClient(base_url=self.url, headers=headers, timeout=timeout, transport=transport)


def _candidates() -> list[Server]:
    found = []
    url = os.environ.get("JUPYTER_DESKTOP_URL")
    if url:
        found.append(Server(url.rstrip("/") + "/", os.environ.get("JUPYTER_DESKTOP_TOKEN", ""), os.environ.get("JUPYTER_DESKTOP_SOCK")))
    parent = os.environ.get("JPY_PARENT_PID")
    if parent and parent.isdigit():
        try:
            from jupyter_core.paths import jupyter_runtime_dir

            info = json.loads((Path(jupyter_runtime_dir()) / f"jpserver-{parent}.json").read_text())
            found.append(Server(info["url"].rstrip("/") + "/", info.get("token", ""), info.get("sock") or None))
        except (OSError, ValueError, KeyError, ImportError):
            pass
    hub_url = os.environ.get("JUPYTERHUB_SERVICE_URL")
    hub_token = os.environ.get("JUPYTERHUB_API_TOKEN")
    if hub_url and hub_token:
        hub_url = hub_url.replace("://0.0.0.0:", "://127.0.0.1:").replace("://[::]:", "://[::1]:")
        found.append(Server(hub_url.rstrip("/") + "/", hub_token))
    return found


async def find_server() -> Server | None:
    """The first candidate server whose desktop API answers, or None."""
    for server in _candidates():
        try:
            async with server.client(PROBE_TIMEOUT) as client:
                response = await client.get(API)
            if response.status_code == 200:
                return server
        except httpx.HTTPError:
            continue
    return None


def _raise_for(response: httpx.Response) -> None:
    """Turn an error response back into the exception the server-side call raised."""
    if response.status_code < 400:
        return
    try:
        message = response.json().get("message") or response.reason_phrase
    except ValueError:
        message = response.text[:500] or response.reason_phrase
    status = response.status_code
    if status == 413:
        raise InputLimitError(message)
    if status == 400:
        raise InvalidInputError(message)
    if status == 429:
        raise DesktopBusyError(message)
    if status in (404, 409):
        raise DesktopClosedError(message)
    if status == 504:
        raise TimeoutError(message)
    if status == 503:
        kind = MissingDependencyError if "install" in message else DesktopStartError
        raise kind(message)
    if status in (401, 403):
        raise DesktopError(f"the Jupyter server refused us ({status}): {message}. Is the token right?")
    raise DesktopError(f"the Jupyter server answered {status}: {message}")


class RemoteProcess(LaunchedProcess):
    def __init__(self, session: RemoteSession, data: dict[str, Any]) -> None:
        self._session = session
        self.pid = data["pid"]
        self.argv = data["argv"]
        self._returncode = data.get("returncode")

    @property
    def returncode(self) -> int | None:
        return self._returncode

    async def poll(self) -> int | None:
        data = await self._session._request("GET", f"processes/{self.pid}")
        self._returncode = data["returncode"]
        return self._returncode

    async def wait(self, timeout: float | None = None) -> int:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:  # the server waits at most a minute per request
            left = 60.0 if deadline is None else max(0.0, min(60.0, deadline - time.monotonic()))
            try:
                data = await self._session._request("POST", f"processes/{self.pid}/wait?timeout={left}", timeout=left + 30)
            except TimeoutError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise TimeoutError(f"{self.argv[0]} (pid {self.pid}) still runs after {timeout:g} s") from None
                continue
            self._returncode = data["returncode"]
            return self._returncode

    async def kill(self, signal: int = signal.SIGTERM) -> None:
        data = await self._session._request("DELETE", f"processes/{self.pid}?signal={int(signal)}")
        self._returncode = data["returncode"]


class RemoteSession:
    """A desktop that lives under a Jupyter server, driven through its REST API."""

    def __init__(self, client: httpx.AsyncClient, info: dict[str, Any]) -> None:
        self.client = client
        self.info = info
        self.id: str = info["id"]
        self._path = f"{API}/{quote(self.id)}"

    @classmethod
    async def create(cls, server: Server, body: dict[str, Any]) -> RemoteSession:
        client = server.client()
        try:
            response = await client.post(API, json=body, timeout=180)
            _raise_for(response)
        except BaseException:
            await client.aclose()
            raise
        return cls(client, response.json())

    @classmethod
    async def attach(cls, server: Server, desktop_id: str) -> RemoteSession:
        client = server.client()
        response = await client.get(f"{API}/{quote(desktop_id)}")
        if response.status_code == 404:
            await client.aclose()
            raise DesktopClosedError(f"no desktop {desktop_id!r} on the Jupyter server at {server.url}")
        _raise_for(response)
        return cls(client, response.json())

    @staticmethod
    async def list(server: Server) -> list[dict[str, Any]]:
        async with server.client() as client:
            response = await client.get(API)
            _raise_for(response)
            return response.json()

    async def _request(self, method: str, path: str = "", *, timeout: float | None = None, **kwargs: Any) -> Any:
        url = f"{self._path}/{path}" if path else self._path
        try:
            response = await self.client.request(method, url, timeout=timeout or TIMEOUT, **kwargs)
        except httpx.TimeoutException as exc:
            raise TimeoutError(f"the Jupyter server did not answer {method} {url} in time") from exc
        except httpx.HTTPError as exc:
            raise DesktopError(f"cannot reach the Jupyter server: {exc}") from exc
        _raise_for(response)
        if response.status_code == 204 or not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response

    # ------------------------------------------------------------------ state

    async def screen_size(self) -> tuple[int, int]:
        data = await self._request("GET", "size")
        self.info.update(data)
        return data["width"], data["height"]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.info)

    async def describe(self) -> dict[str, Any]:
        """The desktop as the server sees it now."""
        if self.info.get("status") != "stopped":
            self.info = await self._request("GET")
        return dict(self.info)

    async def stop(self) -> None:
        try:
            await self._request("DELETE")
        except DesktopClosedError:
            pass  # already gone
        finally:
            self.info["status"] = "stopped"
            await self.client.aclose()

    async def restart(self) -> None:
        self.info = await self._request("POST", "restart", timeout=180)

    async def close_client(self) -> None:
        await self.client.aclose()

    # ------------------------------------------------------------------ screen and input

    async def capture(self, region: Sequence[int] | None = None, fresh: bool = True) -> Image.Image:
        query = {"format": "raw", "fresh": "1" if fresh else "0"}
        if region is not None:
            if not isinstance(region, (list, tuple)) or len(region) != 4:
                raise InvalidInputError(f"region must be (x, y, width, height), not {region!r}")
            query["region"] = ",".join(str(v) for v in region)
        response = await self._request("GET", "screenshot?" + urlencode(query))
        width, height = int(response.headers["X-Width"]), int(response.headers["X-Height"])
        if region is None:
            self.info.update(width=width, height=height)
        return Image.frombytes("RGB", (width, height), response.content)

    async def open_rfb(self) -> tuple[Any, Any]:
        """The server's WebSocket proxy to this desktop, for a viewer tunnelled through the kernel (a page
        that cannot reach the server itself: VS Code). Same shape as ``Session.open_rfb``."""
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        url = str(self.client.base_url.join(f"{self._path}/vnc")).replace("http", "ws", 1)
        # Messages are gathered as they come, so that one read() takes all that arrived since the last: the
        # tunnel paces its comm messages, and one comm message per WebSocket message would cap the throughput.
        pending = bytearray()
        arrived = asyncio.Event()
        ended = False

        def on_message(message: str | bytes | None) -> None:
            nonlocal ended
            if message is None:
                ended = True
            else:
                pending.extend(message if isinstance(message, bytes) else message.encode())
            arrived.set()

        ws = await websocket_connect(
            HTTPRequest(url, headers=dict(self.client.headers)), subprotocols=["binary"], on_message_callback=on_message
        )
        # Input events are small writes: without TCP_NODELAY, Nagle holds one back until the previous is
        # acknowledged (up to 40 ms of delayed ACK).
        if ws.protocol is not None:
            ws.protocol.set_nodelay(True)

        async def read(n: int) -> bytes:
            while not pending and not ended:
                arrived.clear()
                await arrived.wait()
            data = bytes(pending[:n])
            del pending[:n]
            return data

        def write(data: bytes | None) -> None:
            if data is None:
                ws.close()
            else:
                ws.write_message(data, binary=True)

        return read, write

    async def perform(self, actions: Sequence[Mapping[str, Any]]) -> None:
        await self._request("POST", "actions", json={"actions": list(actions)}, timeout=600)

    async def pointer_position(self) -> tuple[int, int]:
        data = await self._request("GET", "pointer")
        return data["x"], data["y"]

    async def wait_until_stable(self, quiet: float = 0.5, timeout: float = 10.0) -> bool:
        data = await self._request("POST", "stable", json={"quiet": quiet, "timeout": timeout}, timeout=timeout + 30)
        return data["stable"]

    async def resize(self, width: int, height: int) -> None:
        self.info.update(await self._request("PUT", "size", json={"width": width, "height": height}))

    async def get_clipboard(self) -> str:
        return (await self._request("GET", "clipboard"))["text"]

    async def set_clipboard(self, text: str) -> None:
        await self._request("PUT", "clipboard", json={"text": text})

    # ------------------------------------------------------------------ programs and windows

    async def run(
        self,
        command: str | Sequence[str],
        *,
        input: str | bytes | None = None,
        timeout: float | None = 60.0,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
    ) -> RunResult:
        body: dict[str, Any] = {"command": command if isinstance(command, str) else list(command), "timeout": timeout}
        if input is not None:
            body["input"] = input.decode() if isinstance(input, bytes) else input
        if env:
            body["env"] = dict(env)
        if cwd:
            body["cwd"] = cwd
        data = await self._request("POST", "exec", json=body, timeout=None if timeout is None else timeout + 30)
        return RunResult(data["returncode"], data["stdout"], data["stderr"])

    async def launch(
        self, command: str | Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None
    ) -> RemoteProcess:
        body: dict[str, Any] = {"command": command if isinstance(command, str) else list(command)}
        if env:
            body["env"] = dict(env)
        if cwd:
            body["cwd"] = cwd
        return RemoteProcess(self, await self._request("POST", "processes", json=body))

    async def open(self, target: str) -> RemoteProcess:
        return RemoteProcess(self, await self._request("POST", "processes", json={"open": target}))

    async def windows(self) -> list[Window]:
        return [Window(**w) for w in await self._request("GET", "windows")]

    async def window_command(self, window_id: int, what: str) -> None:
        await self._request("POST", f"windows/{int(window_id)}/{what}")

