"""The MCP server (jupyter_desktop.agents.mcp), driven by the mcp package's own client: over stdio against the real
`jupyter desktop mcp` process, and over streamable HTTP against a real `jupyter server` with the extension, on real
desktops. The input probe is xev (its log says which screen pixel got the click, which keys came) and a file an
xterm's shell writes (the text typed into it)."""

from __future__ import annotations

import base64
import io
import os
import sys
from pathlib import Path

import anyio
import anyio.to_thread
import httpx
import httpx2
import pytest
from mcp.client import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from PIL import Image

from .conftest import XEvent, marked, run_async
from .harness.server import TOKEN, JupyterServer
from .harness.processes import commands
from .harness.waiting import eventually, none_left

ROOT = Path(__file__).resolve().parent.parent
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}},
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


async def wait(check, what: str, timeout: float = 30.0):
    """``eventually`` off the event loop, so the client's tasks keep running meanwhile."""
    return await anyio.to_thread.run_sync(lambda: eventually(check, timeout=timeout, interval=0.05, what=what))


def text(result) -> str:
    return "\n".join(c.text for c in result.content if c.type == "text")


def image(result) -> Image.Image:
    (block,) = [c for c in result.content if c.type == "image"]
    assert block.mime_type == "image/png"
    return Image.open(io.BytesIO(base64.b64decode(block.data)))


def xev_events(log: Path, kind: str) -> list[XEvent]:
    blocks = [b.strip() for b in log.read_text(errors="replace").split("\n\n") if b.strip()]
    return [XEvent(kind, b) for b in blocks if b.startswith(kind + " ") and "state 0x" in b]


def xev_command(log: Path, width: int, height: int) -> list[str]:
    return ["sh", "-c", f"exec stdbuf -oL xev -name xevtest -geometry {width}x{height}+0+0 > {log} 2>&1"]


# ---------------------------------------------------------------------------------------------------------- stdio


def test_stdio_serves_one_desktop(tmp_path):
    """`jupyter desktop mcp` with a 1000x700 screen and a 640 px image limit: screenshots are 640x448 and say so, a
    click at a screenshot pixel reaches the screen pixel under it, typed text arrives, mistakes are error results
    that give the valid range; the desktop it started stops when the client goes."""
    log = tmp_path / "xev.log"
    params = StdioServerParameters(
        command=str(Path(sys.executable).with_name("jupyter")),
        args=["desktop", "mcp", "--profile", "none", "--width", "1000", "--height", "700", "--max-long-edge", "640"],
        env={"PYTHONPATH": str(ROOT), "JUPYTER_DESKTOP_X_SERVER": "xvnc"},
        cwd=str(tmp_path),
    )
    seen: dict = {}

    async def session() -> None:
        errlog = open(tmp_path / "server-stderr.log", "w")  # noqa: SIM115
        try:
            async with stdio_client(params, errlog=errlog) as (read, write), ClientSession(read, write) as client:
                await client.initialize()
                tools = {t.name: t for t in (await client.list_tools()).tools}
                # one desktop: no desktop_id to give, no desktops to manage
                assert {"screenshot", "click", "type_text", "press_key", "run", "launch", "list_windows"} <= set(tools)
                assert not {"list_desktops", "create_desktop", "stop_desktop"} & set(tools)
                assert all("desktop_id" not in t.input_schema.get("properties", {}) for t in tools.values())
                assert tools["screenshot"].annotations.read_only_hint is True
                assert tools["click"].annotations.destructive_hint is True
                assert tools["run"].annotations.destructive_hint is True

                shot = await client.call_tool("screenshot", {})
                assert not shot.is_error, text(shot)
                assert image(shot).size == (640, 448)
                assert shot.structured_content == {"width": 640, "height": 448, "screen_width": 1000, "screen_height": 700}
                assert "640x448" in text(shot) and "x in 0..639, y in 0..447" in text(shot)
                info = await client.call_tool("desktop_info", {})
                seen["id"] = info.structured_content["id"]

                launched = await client.call_tool("launch", {"command": xev_command(log, 1000, 700)})
                assert not launched.is_error, text(launched)
                await wait(lambda: log.exists() and "MapNotify" in log.read_text(errors="replace"), "xev mapped")

                # model pixel (100, 50) -> screen pixel int((100.5) * 1000 / 640), int((50.5) * 700 / 448) = (157, 78)
                clicked = await client.call_tool("click", {"x": 100, "y": 50, "button": "right"})
                assert not clicked.is_error, text(clicked)
                presses = await wait(lambda: xev_events(log, "ButtonPress"), "the click")
                assert [(e.root, e.button) for e in presses] == [((157, 78), 3)]
                cursor = await client.call_tool("cursor_position", {})
                assert cursor.structured_content == {"x": 100, "y": 50}  # screen (157, 78) is model (100, 50)

                typed = await client.call_tool("type_text", {"text": "Hi!"})
                assert not typed.is_error, text(typed)
                keys = await wait(lambda: (lambda k: k if "exclam" in k else None)(
                    [e.keysym for e in xev_events(log, "KeyPress")]), "the typed keys")  # fmt: skip
                assert [k for k in keys if k not in ("Shift_L",)] == ["H", "i", "exclam"]

                off = await client.call_tool("click", {"x": 640, "y": 10})
                assert off.is_error and "x must be in 0..639 and y in 0..447" in text(off), text(off)
                too_many = await client.call_tool("click", {"x": 1, "y": 1, "count": 7})
                assert too_many.is_error and "count" in text(too_many) and "3" in text(too_many), text(too_many)
                bad_key = await client.call_tool("press_key", {"keys": "ctrl+nosuchkey"})
                assert bad_key.is_error and "unknown key 'nosuchkey'" in text(bad_key), text(bad_key)
                assert len(xev_events(log, "ButtonPress")) == 1  # nothing of those was sent

                ran = await client.call_tool("run", {"command": "echo out; echo err >&2; exit 3"})
                assert ran.structured_content == {"returncode": 3, "stdout": "out\n", "stderr": "err\n"}
                assert marked(seen["id"]), "the desktop runs while the client is there"
        finally:
            errlog.close()

    run_async(session(), timeout=180)
    assert seen.get("id")
    none_left(lambda: commands(seen["id"]), timeout=30, what="the desktop's processes (stopped with the client)")


def test_stdio_without_the_mcp_package_says_what_to_install(tmp_path):
    """The subcommand names the extra to install when the mcp package is missing (here: hidden from the import)."""
    import subprocess

    blocker = tmp_path / "block" / "mcp"
    blocker.mkdir(parents=True)
    (blocker / "__init__.py").write_text("raise ImportError('No module named mcp (hidden by the test)')\n")
    result = subprocess.run(
        [sys.executable, "-m", "jupyter_desktop.cli", "mcp"], capture_output=True, text=True, timeout=60,
        env={**os.environ, "PYTHONPATH": f"{blocker.parent}{os.pathsep}{ROOT}"},
    )  # fmt: skip
    assert result.returncode == 1
    assert "pip install 'jupyter_desktop[mcp]'" in result.stderr, result.stderr


# ---------------------------------------------------------------------------------------------------------- HTTP


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("mcp")
    s = JupyterServer(root, base_url="/user/someone/", config="c.DesktopExtension.mcp_max_long_edge = 640\n")
    yield s
    s.shutdown()


def test_http_needs_jupyter_auth(server):
    """Without a token the endpoint refuses (403, Jupyter's auth: not the XSRF check); with the token the same
    request is answered by MCP; a wrong token is refused too."""
    url = server.url + "desktop/mcp"
    # A request without the token fails jupyter-server's XSRF check first, as on every API route (an MCP client
    # sends no cookie): these pass it (the _xsrf cookie and the same value in the header), so that the refusal
    # below is the auth's.
    xsrf = {"Cookie": "_xsrf=6d6370746573740a", "X-XSRFToken": "6d6370746573740a"}
    for headers in (xsrf, {**xsrf, "Authorization": "token wrong"}):
        refused = httpx.post(url, json=INITIALIZE, headers={**MCP_HEADERS, **headers}, timeout=60)
        assert refused.status_code == 403, (refused.status_code, refused.text[:300])
        assert "xsrf" not in refused.text.lower(), refused.text[:300]
    refused = httpx.post(url, json=INITIALIZE, headers=MCP_HEADERS, timeout=60)
    assert refused.status_code == 403, (refused.status_code, refused.text[:300])
    answered = httpx.post(url, json=INITIALIZE, headers={**MCP_HEADERS, **server.auth}, timeout=60)
    assert answered.status_code == 200, answered.text[:500]
    assert answered.json()["result"]["serverInfo"]["name"] == "jupyter-desktop"
    # ?token= works as on every route
    assert httpx.post(url, params={"token": TOKEN}, json=INITIALIZE, headers=MCP_HEADERS, timeout=60).status_code == 200

    statuses: list[int] = []

    async def record(response) -> None:
        statuses.append(response.status_code)

    async def client_without_token() -> None:
        async with httpx2.AsyncClient(timeout=60, event_hooks={"response": [record]}) as http, streamable_http_client(
            url, http_client=http
        ) as (r, w), ClientSession(r, w) as client:
            await client.initialize()

    with pytest.raises(Exception, match="unhandled errors"):  # the client's task group: an MCPError in it
        run_async(client_without_token(), timeout=60)
    assert statuses == [403]


def test_http_drives_the_servers_desktops(server, tmp_path):
    """The mcp client with the token: create a desktop, click at a screenshot pixel (the server's pointer is on the
    screen pixel under it), type into an xterm (its shell writes the line to a file), refuse mistakes, stop it."""
    url = server.url + "desktop/mcp"
    out = tmp_path / "typed.txt"
    seen: dict = {}

    async def session() -> None:
        headers = {"Authorization": f"token {TOKEN}"}
        async with httpx2.AsyncClient(headers=headers, timeout=120) as http, streamable_http_client(
            url, http_client=http
        ) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert {"list_desktops", "create_desktop", "stop_desktop", "screenshot", "click"} <= set(tools)
            assert "desktop_id" in tools["click"].input_schema["properties"]

            nothing = await client.call_tool("screenshot", {})
            assert nothing.is_error and "create_desktop" in text(nothing), text(nothing)

            created = await client.call_tool("create_desktop", {"width": 1000, "height": 700})
            assert not created.is_error, text(created)
            desktop_id = seen["id"] = created.structured_content["id"]
            listed = await client.call_tool("list_desktops", {})
            assert [d["id"] for d in listed.structured_content["desktops"]] == [desktop_id]

            shot = await client.call_tool("screenshot", {"desktop_id": desktop_id})
            assert image(shot).size == (640, 448), text(shot)

            clicked = await client.call_tool("click", {"x": 100, "y": 50, "desktop_id": desktop_id})
            assert not clicked.is_error, text(clicked)
            pointer = await anyio.to_thread.run_sync(lambda: server.api("GET", f"/{desktop_id}/pointer").json())
            assert pointer == {"x": 157, "y": 78}

            launched = await client.call_tool("launch", {
                "desktop_id": desktop_id,
                "command": ["xterm", "-T", "mcp-typing", "-e", "sh", "-c", f'read line; printf %s "$line" > {out}'],
            })  # fmt: skip
            assert not launched.is_error, text(launched)

            async def xterm_window():
                windows = (await client.call_tool("list_windows", {})).structured_content["windows"]
                return next((w for w in windows if w["title"] == "mcp-typing"), None)

            with anyio.fail_after(30):
                while (window := await xterm_window()) is None:
                    await anyio.sleep(0.1)
            activated = await client.call_tool("activate_window", {"window_id": window["id"]})  # the only desktop
            assert not activated.is_error, text(activated)
            typed = await client.call_tool("type_text", {"text": "hello mcp\n", "desktop_id": desktop_id})
            assert not typed.is_error, text(typed)
            assert await wait(lambda: out.exists() and out.read_text() == "hello mcp", "the typed line") is True

            off = await client.call_tool("move", {"x": 700, "y": 0, "desktop_id": desktop_id})
            assert off.is_error and "x must be in 0..639" in text(off), text(off)
            unknown = await client.call_tool("screenshot", {"desktop_id": "nope"})
            assert unknown.is_error and "DesktopNotFoundError" in text(unknown), text(unknown)
            wrong_type = await client.call_tool("click", {"x": "left", "y": 1})
            assert wrong_type.is_error and "x" in text(wrong_type), text(wrong_type)

            stopped = await client.call_tool("stop_desktop", {"desktop_id": desktop_id})
            assert not stopped.is_error, text(stopped)

    run_async(session(), timeout=240)
    assert server.api("GET").json() == []
    none_left(lambda: commands(seen["id"]), timeout=30, what="the desktop's processes")


def test_http_accessibility_tools(server):
    """accessibility_tree lists a zenity dialog's buttons with bounds in screenshot pixels (the screen is scaled to
    640x448) and refs; node_action clicks one: the dialog's exit status says it was Yes."""

    async def session() -> None:
        headers = {"Authorization": f"token {TOKEN}"}
        async with httpx2.AsyncClient(headers=headers, timeout=120) as http, streamable_http_client(
            server.url + "desktop/mcp", http_client=http
        ) as (read, write), ClientSession(read, write) as client:
            await client.initialize()
            created = await client.call_tool("create_desktop", {"width": 1000, "height": 700})
            desktop_id = created.structured_content["id"]
            try:
                await client.call_tool("screenshot", {})
                launched = await client.call_tool("launch", {"command": ["zenity", "--question", "--text", "MCP?"]})
                assert not launched.is_error, text(launched)
                pid = launched.structured_content["pid"]

                with anyio.fail_after(30):
                    while "'Yes'" not in (outline := text(await client.call_tool("accessibility_tree", {"app": "zenity"}))):
                        await anyio.sleep(0.1)
                line = next(line for line in outline.splitlines() if "push button 'Yes'" in line)
                ref = line.rsplit("[", 1)[1].rstrip("]")
                snapshot = await anyio.to_thread.run_sync(lambda: server.api("GET", f"/{desktop_id}/accessibility").json())
                x, y, w, h = next(n["bounds"] for n in snapshot["nodes"] if n["ref"] == ref)
                assert f"@{round(x * 0.64)},{round(y * 0.64)} {round(w * 0.64)}x{round(h * 0.64)}" in line, (line, x, y)

                wrong = await client.call_tool("node_action", {"ref": ref, "command": "do", "arg": "fly"})
                assert wrong.is_error and "no action 'fly'" in text(wrong), text(wrong)
                gone = await client.call_tool("node_action", {"ref": ":1.9999/1", "command": "focus"})
                assert gone.is_error and "StaleNodeError" in text(gone), text(gone)
                clicked = await client.call_tool("node_action", {"ref": ref, "command": "click"})
                assert not clicked.is_error, text(clicked)
                waited = await anyio.to_thread.run_sync(
                    lambda: server.api("POST", f"/{desktop_id}/processes/{pid}/wait", params={"timeout": "20"}).json()
                )
                assert waited["returncode"] == 0, waited
            finally:
                await client.call_tool("stop_desktop", {"desktop_id": desktop_id})

    run_async(session(), timeout=240)
