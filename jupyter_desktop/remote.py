"""The kernel's side of the server: find the Jupyter server, and drive its desktops.

``RemoteSession`` has the same async methods as :class:`~jupyter_desktop.session.Session`, so
``Desktop`` works the same whether its desktop lives in this process or under the server. Screen and input go
over RFB as in process (:mod:`jupyter_desktop.screen`): the session opens the server's own authenticated
WebSocket proxy to the desktop and keeps a mirror of its framebuffer, so a screenshot costs no HTTP request and
a click is a few bytes on an open connection. Lifecycle, programs, windows, the pointer's position and the
clipboard go over the REST API.

The server is found, in order, from: the variables the server extension puts in the server's environment
(kernels inherit them), the runtime file ``jpserver-<pid>.json`` of the kernel's parent server, and
JupyterHub's variables. Each candidate must answer our API within a short timeout, else the next is tried;
with none, ``Desktop`` runs its desktop in-process.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import json
import os
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

import httpx

from . import actions as _actions
from . import wire
from .backends.base import DesktopSpec, LaunchedProcess, RunResult
from .errors import (
    BY_NAME,
    DesktopBusyError,
    DesktopClosedError,
    DesktopError,
    DesktopStartError,
    InputLimitError,
    InvalidInputError,
    MissingDependencyError,
    RecordingLimitError,
    RFBError,
)
from .rfb import RFBClient
from .rfb.connect import WebSocketRefused, open_websocket_streams
from .gate import MAX_CONTROL_WAIT
from .screen import RFBScreen
from .session import FILE_TIMEOUT, check_file_data, check_file_path
from .trajectory import Step, Trajectory
from .xtools import Window

if TYPE_CHECKING:
    from .protocols import DesktopSession

__all__ = ["Server", "find_server", "ServerHub", "RemoteSession", "RemoteProcess", "RemoteRecorder"]

API = "desktop/api/desktops"
PROBE_TIMEOUT = 2.0
ACTIONS_TIMEOUT = _actions.MAX_SECONDS + 30.0 + 30.0  # a batch's pauses, its wait in line (MAX_QUEUE_WAIT), slack
FFMPEG_STOP_TIMEOUT = 120.0  # the last screenshot once the screen settled, ffmpeg finishing the video
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
    """Turn an error response back into the exception the server-side call raised: the class its body names
    (``"error"``), else one that fits its status."""
    if response.status_code < 400:
        return
    try:
        body = response.json()
        message = body.get("message") or response.reason_phrase
        kind = BY_NAME.get(body.get("error") or "")
    except (ValueError, AttributeError):
        message, kind = response.text[:500] or response.reason_phrase, None
    if kind is not None:
        raise kind(message)
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


class ServerHub:
    """The desktops of a Jupyter server with our extension (its REST API; screen and input over its RFB proxy)."""

    server_side = True

    def __init__(self, server: Server) -> None:
        self.server = server

    # (DesktopSession, not RemoteSession: part of RemoteSession is made from the Protocol when this module loads,
    # which a static checker cannot see; tests/test_seam.py checks the whole of it)
    async def create(self, spec: DesktopSpec, backend: str | None = None) -> DesktopSession:
        body = spec.to_json()
        if backend:
            body["backend"] = backend
        return cast("DesktopSession", await RemoteSession.create(self.server, body))

    async def get(self, desktop_id: str) -> DesktopSession:
        return cast("DesktopSession", await RemoteSession.attach(self.server, desktop_id))

    async def list(self) -> list[dict[str, Any]]:
        return await RemoteSession.listing(self.server)

    async def stop(self, session: RemoteSession) -> None:
        await session.stop()

    async def drop(self, session: RemoteSession, owned: bool) -> None:
        # the server's desktop outlives the object: it may be on screen in a widget or the launcher's tab; the
        # server's idle timeout and close() end it
        await session.close_client()


def _forward(name: str, signature: inspect.Signature) -> Any:
    """RemoteSession's method for the Protocol's operation ``name``: the server's generic route (wire.py)."""

    async def call(self: RemoteSession, *args: Any, **kwargs: Any) -> Any:
        arguments = wire.check_args(name, kwargs, args)  # the server checks the same: fail here, without a trip
        # an operation that waits (a long-poll, a person's answer) has its own timeout: the request's is longer
        waits = arguments.get("timeout")
        timeout = waits + 30 if isinstance(waits, (int, float)) and not isinstance(waits, bool) else None
        data = await self._request("POST", f"call/{name}", json={"args": arguments}, timeout=timeout)
        return wire.decode_result(name, data["result"], lambda process: RemoteProcess(self, process))

    call.__name__ = call.__qualname__ = name
    call.__signature__ = signature  # type: ignore[attr-defined]
    call.__doc__ = f"The session's {name}() on the Jupyter server (its generic route)."
    return call


class RemoteProcess(LaunchedProcess):
    def __init__(self, session: RemoteSession, data: Mapping[str, Any]) -> None:
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


class RemoteSession(RFBScreen):
    """A desktop that lives under a Jupyter server: screen and input over the server's RFB WebSocket proxy,
    the rest through its REST API."""

    def __init__(self, client: httpx.AsyncClient, info: dict[str, Any], sock: str | None = None) -> None:
        self.client = client
        self.info = info
        self.id: str = info["id"]
        self._path = f"{API}/{quote(self.id)}"
        self._sock = sock
        self.rfb: RFBClient | None = None
        self.recording = False  # the server records this desktop for us: input goes over REST (perform)
        self._control: dict[str, Any] | None = None  # the gate's state as the watch last heard it
        self._control_changed = asyncio.Event()
        self._watching: asyncio.Future[None] | None = None
        self._init_screen()

    @classmethod
    async def create(cls, server: Server, body: dict[str, Any]) -> RemoteSession:
        client = server.client()
        try:
            response = await client.post(API, json=body, timeout=180)
            _raise_for(response)
            session = cls(client, response.json(), server.sock)
            await session.connected()
        except BaseException:
            await client.aclose()
            raise
        return session

    @classmethod
    async def attach(cls, server: Server, desktop_id: str) -> RemoteSession:
        client = server.client()
        try:
            response = await client.get(f"{API}/{quote(desktop_id)}")
            _raise_for(response)  # DesktopNotFoundError (a DesktopClosedError) when there is none
            session = cls(client, response.json(), server.sock)
            await session.connected()
        except BaseException:
            await client.aclose()
            raise
        return session

    @staticmethod
    async def listing(server: Server) -> list[dict[str, Any]]:
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

    # ------------------------------------------------------------------ the RFB connection

    def _vnc_url(self, source: str = "agent") -> tuple[str, dict[str, str]]:
        """The desktop's RFB WebSocket on the server, and the headers that authenticate us there. ``source``: whose
        input the connection carries, as the server's recordings label it (``agent``: this program's; ``human``: a
        viewer the kernel relays)."""
        url = str(self.client.base_url.join(f"{self._path}/vnc" + ("?source=agent" if source == "agent" else "")))
        return "ws" + url[4:] if url.startswith("http") else url, dict(self.client.headers)

    async def connected(self) -> RFBClient:
        """The kernel's RFB connection to the desktop, opened again when it closed while the desktop runs (the
        desktop restarted, the server's proxy was restarted)."""
        rfb = self.rfb
        if rfb is not None and not rfb.closed:
            return rfb
        if rfb is not None:
            self.rfb = None
            await rfb.close()
        if self.info.get("status") == "stopped":
            raise DesktopClosedError(f"desktop {self.id} was closed; start a new one with Desktop()")
        url, headers = self._vnc_url()
        try:
            # it never resizes (the server does, over REST): no ExtendedDesktopSize, one round trip per sync
            rfb = await RFBClient.open_websocket(url, headers=headers, sock=self._sock, timeout=20, resizable=False)
        except WebSocketRefused as exc:
            info = await self.describe()  # why: gone (404 raises DesktopClosedError), failed, or refused
            if info.get("status") == "error":
                raise DesktopClosedError(f"desktop {self.id} failed: {info.get('error')}. Call restart() to start it again.") from None
            raise DesktopError(f"the Jupyter server refused the desktop's RFB WebSocket ({exc.status}): {exc}") from None
        except (RFBError, OSError) as exc:
            raise DesktopError(f"cannot open the desktop's RFB stream through the Jupyter server: {exc}") from None
        self.rfb = rfb
        self.input = _actions.InputState(rfb.width // 2, rfb.height // 2, self.input.buttons, self.input.keys_down)
        return rfb

    async def _close_rfb(self) -> None:
        rfb, self.rfb = self.rfb, None
        if rfb is not None:
            await rfb.close()

    # ------------------------------------------------------------------ state

    def to_dict(self) -> dict[str, Any]:
        return dict(self.info)

    async def describe(self) -> dict[str, Any]:
        """The desktop as the server sees it now."""
        if self.info.get("status") != "stopped":
            self.info = await self._request("GET")
        return dict(self.info)

    async def stop(self) -> None:
        self._stop_watching()
        await self._close_rfb()
        try:
            await self._request("DELETE")
        except DesktopClosedError:
            pass  # already gone
        finally:
            self.info["status"] = "stopped"
            await self.client.aclose()

    async def restart(self) -> None:
        await self._close_rfb()
        self.info = await self._request("POST", "restart", timeout=180)
        await self.connected()

    async def close_client(self) -> None:
        self._stop_watching()
        await self._close_rfb()
        await self.client.aclose()

    # ------------------------------------------------------------------ screen and input (the rest: RFBScreen)

    async def open_rfb(self) -> tuple[Any, Any]:
        """A fresh RFB stream through the server's WebSocket proxy, for a viewer tunnelled through the kernel (a
        page that cannot reach the server itself: VS Code). Same shape as ``Session.open_rfb``."""
        url, headers = self._vnc_url("human")
        reader, writer = await open_websocket_streams(url, headers=headers, sock=self._sock, timeout=20)

        def write(data: bytes | None) -> None:
            if data is None:
                writer.close()
            else:
                writer.write(data)

        return reader.read, write

    async def perform(self, actions: Sequence[Mapping[str, Any]]) -> None:
        """Over RFB (:meth:`RFBScreen.perform`); while the server records this desktop for us (``recording``),
        over its REST route instead, where the server records each batch as an ``agent`` step, error included."""
        if not self.recording:
            return await super().perform(actions)
        try:
            body = json.dumps({"actions": actions if isinstance(actions, list) else list(actions)})
        except (TypeError, ValueError) as exc:
            raise InvalidInputError(f"actions must be JSON data (see jupyter_desktop.actions): {exc}") from None
        self.last_input = time.monotonic()
        try:
            await self._request("POST", "actions", content=body, headers={"Content-Type": "application/json"}, timeout=ACTIONS_TIMEOUT)
        finally:
            self.last_input = time.monotonic()

    # ------------------------------------------------------------------ recordings the server makes

    async def start_recording(self, body: dict[str, Any]) -> dict[str, Any]:
        info = await self._request("POST", "recording", json=body, timeout=120)
        self.recording = True
        return info

    async def stop_recording(self) -> dict[str, Any]:
        self.recording = False
        return await self._request("DELETE", "recording", timeout=FFMPEG_STOP_TIMEOUT)

    async def recording_info(self) -> dict[str, Any]:
        return await self._request("GET", "recording")

    # ------------------------------------------------------------------ a person in the loop

    async def wait_for_control(self, timeout: float = 3600.0) -> bool:
        """True once the agent holds the desktop; answered from the state a long-poll of the server's ``watch``
        keeps current (no request per input call: 0.5 ms a move, not 9: benchmarks/bench_kernel.py). A take-over reaches it within a round
        trip; input sent in that window is held by the server's proxy until the hand-back (server/proxy.py), so
        nothing of the agent's reaches the desktop while a person holds it."""
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or not 0 <= timeout <= MAX_CONTROL_WAIT:
            raise InvalidInputError(f"timeout must be a number of seconds in 0..{MAX_CONTROL_WAIT:g}, not {timeout!r:.40}")
        if self._control is None or self._watching is None or self._watching.done():
            self._control = await self._forwarded("control")
            self._watching = asyncio.ensure_future(self._watch())
        deadline = time.monotonic() + timeout
        while self._control.get("holder", "agent") != "agent":
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            changed = self._control_changed
            try:
                await asyncio.wait_for(changed.wait(), min(remaining, 5.0))
            except asyncio.TimeoutError:
                self._control = await self._forwarded("control")  # the watch may be failing: ask
        return True

    async def _watch(self) -> None:
        """Keep ``_control`` current: the server's watch answers when it changes (or every 30 s)."""
        failures = 0
        while self.info.get("status") != "stopped" and not self.client.is_closed:
            try:
                version = (self._control or {}).get("version", -1)
                state = await self._forwarded("watch", version=version, timeout=30.0)
                failures = 0
            except asyncio.CancelledError:
                raise
            except DesktopClosedError:
                return
            except Exception:  # noqa: BLE001 - a blip: wait_for_control asks directly meanwhile
                failures += 1
                if failures > 20:
                    return
                await asyncio.sleep(min(5.0, 0.2 * failures))
                continue
            if state != self._control:
                self._heard(state)

    async def take_over(self, by: str = "") -> dict[str, Any]:
        return self._heard(await self._forwarded("take_over", by=by))

    async def hand_back(self, by: str = "") -> dict[str, Any]:
        return self._heard(await self._forwarded("hand_back", by=by))

    def _heard(self, state: dict[str, Any]) -> dict[str, Any]:
        """The gate's state, from an answer of the server's: the cache follows it at once."""
        if self._control is None or state.get("version", -1) >= self._control.get("version", -1):
            self._control = state
            changed, self._control_changed = self._control_changed, asyncio.Event()
            changed.set()
        return state

    def _stop_watching(self) -> None:
        if self._watching is not None:
            self._watching.cancel()
            self._watching = None

    async def _forwarded(self, name: str, **kwargs: Any) -> Any:
        return await _FORWARDED[name](self, **kwargs)

    async def pointer_position(self) -> tuple[int, int]:
        data = await self._request("GET", "pointer")
        return data["x"], data["y"]

    async def resize(self, width: int, height: int) -> None:
        self.info.update(await self._request("PUT", "size", json={"width": width, "height": height}))
        rfb = await self.connected()
        await rfb.sync()  # the new size is in the mirror before anyone reads it

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
        return RunResult.from_json(data)

    async def launch(
        self, command: str | Sequence[str], *, env: Mapping[str, str] | None = None, cwd: str | None = None
    ) -> RemoteProcess:
        body: dict[str, Any] = {"command": command if isinstance(command, str) else list(command)}
        if env:
            body["env"] = dict(env)
        if cwd:
            body["cwd"] = cwd
        return RemoteProcess(self, await self._request("POST", "processes", json=body))

    async def open(
        self, target: str, *, env: Mapping[str, str] | None = None, cwd: str | None = None
    ) -> RemoteProcess:
        body: dict[str, Any] = {"open": target}
        if env:
            body["env"] = dict(env)
        if cwd:
            body["cwd"] = cwd
        return RemoteProcess(self, await self._request("POST", "processes", json=body))

    async def windows(self) -> list[Window]:
        return [Window.from_json(w) for w in await self._request("GET", "windows")]

    async def window_command(self, window_id: int, what: str) -> None:
        await self._request("POST", f"windows/{int(window_id)}/{what}")

    # ------------------------------------------------------------------ files: bytes, on a route of their own

    async def read_file(self, path: str) -> bytes:
        check_file_path(path)
        response = await self._request("GET", "files", params={"path": path}, timeout=FILE_TIMEOUT + 30)
        return b"" if response is None else response.content

    async def write_file(
        self, path: str, data: bytes, parents: bool = False, mode: int | None = None, exclusive: bool = False
    ) -> None:
        check_file_path(path)
        check_file_data(data, mode)  # past MAX_FILE: refused here, before a byte goes up
        params = {"path": path, "parents": "1" if parents else "0", "exclusive": "1" if exclusive else "0"}
        if mode is not None:
            params["mode"] = format(mode, "04o")
        headers = {"Content-Type": "application/octet-stream"}
        await self._request("PUT", "files", params=params, content=bytes(data), headers=headers, timeout=FILE_TIMEOUT + 30)



class RemoteRecorder:
    """A recording the Jupyter server makes of one of its desktops, into ``path`` (a folder under the server's
    root directory): what :meth:`Desktop.record` returns for a desktop the server holds. The server sees what a
    ``Desktop`` in this process cannot: the input of every viewer (the notebook widget, the full-page viewer, a
    teacher's), recorded as ``human`` steps next to this program's ``agent`` steps (sent over the server's REST
    route while it records, so that each batch is one step with its error). Same interface as
    :class:`~jupyter_desktop.trajectory.Recorder`; the folder has the same format.
    """

    def __init__(self, session: RemoteSession, runner: Any, path: str | os.PathLike[str], *, on_stop: Any = None, **options: Any) -> None:
        self._session = session
        self._runner = runner
        self._on_stop = on_stop
        self.path = Path(path).resolve()
        body = {"path": str(self.path), **{k: v for k, v in options.items() if v is not None or k != "max_bytes"}}
        self.info: dict[str, Any] = runner.call(session.start_recording(body), 150)
        self.error: RecordingLimitError | None = None
        self.stopped_because: str | None = None
        self._stopped = False

    @property
    def steps(self) -> list[Step]:
        """The steps written so far (read from the folder, which this process shares with the server)."""
        try:
            return Trajectory(self.path).steps
        except (FileNotFoundError, ValueError):
            return []

    @property
    def recording(self) -> bool:
        if self._stopped:
            return False
        try:
            return bool(self._runner.call(self._session.recording_info(), 30).get("recording"))
        except DesktopError:
            return False

    def stop(self) -> None:
        """End the recording (the server takes the last screenshot and finishes the video); raises
        :class:`RecordingLimitError` if a limit stopped it earlier. Calling it again is fine."""
        if self._stopped:
            return
        self._stopped = True
        try:
            self.info = self._runner.call(self._session.stop_recording(), FFMPEG_STOP_TIMEOUT + 30)
        except DesktopError:  # it ended already (the desktop stopped): the folder says how
            self._session.recording = False
            self.info = {"error": None}
            with contextlib.suppress(OSError, ValueError):
                self.info["stopped"] = json.loads((self.path / "meta.json").read_text()).get("stopped")
        finally:
            if self._on_stop is not None:
                self._on_stop(self)
        self.stopped_because = self.info.get("stopped")
        if self.info.get("error"):
            self.error = RecordingLimitError(self.info["error"])
            raise self.error

    def __enter__(self) -> RemoteRecorder:
        return self

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> None:
        if kind is None:
            self.stop()
        else:
            with contextlib.suppress(RecordingLimitError):
                self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "recording"
        return f"<RemoteRecorder {str(self.path)!r} {state} by the Jupyter server>"


# Every operation the Protocol declares that RemoteSession does not implement itself (over RFB, or on its own
# REST route) goes through the server's generic route: a new operation needs nothing here.
_FORWARDED: dict[str, Any] = {name: _forward(name, signature) for name, signature in wire.operations().items()}
for _name, _signature in wire.operations().items():
    if _name not in vars(RemoteSession):
        setattr(RemoteSession, _name, _forward(_name, _signature))
