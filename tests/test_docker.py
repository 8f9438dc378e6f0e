"""The Docker backend against a real engine and the real desktop image (scripts/docker-setup.sh makes both).

Without an engine these tests skip with the reason, unless JUPYTER_DESKTOP_REQUIRE_DOCKER=1 (bootstrap.sh test
sets it): then the module fails loudly. Every test removes its containers, also when it fails (the autouse
``no_leftovers`` fixture removes whatever this process still owns and fails the test if there was any).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import time
import uuid
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from jupyter_desktop import Desktop
from jupyter_desktop.backends.base import DesktopSpec
from jupyter_desktop.errors import InvalidInputError
from jupyter_desktop.images import image_tag
from jupyter_desktop.manager import DesktopManager

from .conftest import ocr, run_async
from .harness.docker import engine_problem

ROOT = Path(__file__).resolve().parent.parent
T = TypeVar("T")


_PROBLEM = engine_problem()
if _PROBLEM and os.environ.get("JUPYTER_DESKTOP_REQUIRE_DOCKER") == "1":
    pytest.fail(f"JUPYTER_DESKTOP_REQUIRE_DOCKER=1 but {_PROBLEM}", pytrace=False)
pytestmark = [pytest.mark.docker, pytest.mark.skipif(_PROBLEM is not None, reason=str(_PROBLEM))]

if _PROBLEM is None:
    import docker

    from jupyter_desktop.backends.docker import LABEL, DockerBackend, DockerUnavailableError, ImageMissingError


# ---------------------------------------------------------------------- helpers


@pytest.fixture(scope="module")
def engine() -> Iterator[Any]:
    client = docker.from_env(timeout=60)
    yield client
    client.close()


def _mine(engine: Any) -> list[Any]:
    """Containers of ours whose owner is this test process."""
    me = f"/{os.getpid()}/"
    return [
        c
        for c in engine.containers.list(all=True, filters={"label": f"{LABEL}.desktop"})
        if me in c.labels.get(f"{LABEL}.owner", "") or me in _owner_file(c)
    ]


def _owner_file(container: Any) -> str:
    try:
        return (Path(container.labels[f"{LABEL}.dir"]) / "owner").read_text()
    except (KeyError, OSError):
        return ""


@pytest.fixture(autouse=True)
def no_leftovers(engine: Any) -> Iterator[None]:
    """After each test: nothing of ours may be left; whatever is gets removed, and the test fails."""
    yield
    left = _mine(engine)
    for container in left:
        container.remove(force=True)
    assert not left, f"containers left behind: {[c.name for c in left]}"


def run(coro: Coroutine[Any, Any, T], timeout: float = 240) -> T:
    return run_async(coro, timeout)


def inspect(engine: Any, info: dict[str, Any]) -> dict[str, Any]:
    return engine.api.inspect_container(info["container"])


# ---------------------------------------------------------------------- the Desktop API, unchanged


def test_three_desktops_at_once(engine: Any) -> None:
    sizes = [(800, 600), (1024, 640), (640, 480)]
    desktops = [Desktop(backend="docker", width=w, height=h) for w, h in sizes]
    try:
        assert len({d.id for d in desktops}) == 3
        assert len({d.info["container"] for d in desktops}) == 3
        for desktop, size in zip(desktops, sizes, strict=True):
            assert desktop.status == "running"
            assert desktop.info["backend"] == "docker"
            image = desktop.screenshot()
            assert image.size == size  # each answers from its own framebuffer
            assert desktop.run("echo $DISPLAY").stdout.strip() == ":1"
    finally:
        for desktop in desktops:
            desktop.close()
    assert not _mine(engine)


def test_ocr_round_trip(tmp_path: Path) -> None:
    with Desktop(backend="docker") as desktop:
        desktop.launch(
            ["xterm", "-fa", "Monospace", "-fs", "14", "-T", "dockerterm", "-e", "bash", "--norc", "--noprofile"]
        )
        desktop.wait_for_window("dockerterm", timeout=20)
        desktop.write("echo hello from docker\n")
        deadline, text = time.monotonic() + 30, ""
        while time.monotonic() < deadline:
            desktop.wait_until_stable(quiet=0.3)
            text = ocr(desktop.screenshot(), tmp_path)
            # the command's output, on a line of its own (not only the typed command line)
            if any(line.strip() == "hello from docker" for line in text.splitlines()):
                break
            time.sleep(0.3)
        else:
            desktop.screenshot().save(tmp_path / "last-screen.png")
            pytest.fail(f"'hello from docker' never appeared as output; tesseract read:\n{text}")


def test_recording_a_docker_desktop(tmp_path: Path) -> None:
    """A recording reads the framebuffer mirror over RFB, the same for a container's desktop (no X grab in it)."""
    from jupyter_desktop import Trajectory

    from .harness.recording import probe

    with Desktop(backend="docker", width=800, height=600) as desktop:
        desktop.launch(["xterm", "-fa", "Monospace", "-fs", "14", "-T", "recterm", "-e", "bash", "--norc", "--noprofile"])
        desktop.activate_window(desktop.wait_for_window("recterm", timeout=20))
        desktop.wait_until_stable(quiet=0.3)
        with desktop.record(tmp_path / "rec") as rec:
            desktop.write("echo recorded in docker\n")
            desktop.wait_until_stable(quiet=0.5)
        t = Trajectory(tmp_path / "rec")
        assert [s.actions for s in rec.steps] == [[{"action": "type", "text": "echo recorded in docker\n", "delay": 0.0}]]
        after = ocr(t.image(t.steps[0].after), tmp_path)
        assert "recorded in docker" in after and "recorded in docker" not in ocr(t.image(t.steps[0].before), tmp_path), after
        info = probe(tmp_path / "rec" / "video.mp4")
        assert (info["codec_name"], info["width"], info["height"]) == ("h264", 800, 600) and int(info["nb_read_frames"]) >= 2
        assert t.meta["desktop"]["backend"] == "docker"


def test_killed_container_is_an_error_then_restart_works(engine: Any) -> None:
    with Desktop(backend="docker") as desktop:
        first = desktop.info["container"]
        engine.containers.get(first).kill()
        deadline = time.monotonic() + 60  # returns as soon as it is noticed; the bound is for a loaded machine
        while time.monotonic() < deadline and not (
            desktop.status == "error" and "exited" in (desktop.info["error"] or "")
        ):
            time.sleep(0.05)
        assert desktop.status == "error", desktop.info
        error = desktop.info["error"]
        assert "exited with status 137" in error and "killed" in error, error
        assert "Its log ends" in error and error.split("Its log ends:")[1].strip(), error  # the container's last lines
        desktop.restart()
        assert desktop.status == "running"
        assert desktop.info["container"] != first
        assert desktop.screenshot().size == (1280, 800)
        assert desktop.run(["true"]).ok


@pytest.mark.xfce
def test_xfce_profile_without_dialogs_or_compositing() -> None:
    with Desktop(backend="docker", profile="xfce") as desktop:
        panel = desktop.wait_for_window("xfce4-panel", timeout=30)
        assert panel.wm_class and "panel" in panel.wm_class.lower()
        desktop.wait_until_stable(quiet=1.0, timeout=15)
        titles = [w.title for w in desktop.windows()]
        assert not [t for t in titles if "Panel" in t and "xfce4-panel" not in t], titles  # no first-run question
        compositing = desktop.run("xfconf-query -c xfwm4 -p /general/use_compositing").stdout.strip()
        assert compositing == "false"
        autostart = desktop.run("grep -l Hidden=true /etc/xdg/autostart/*.desktop").stdout
        assert "xfce4-screensaver" in autostart and "light-locker" in autostart


def test_browser_starts() -> None:
    with Desktop(backend="docker") as desktop:
        browser = desktop.launch(["firefox-esr", "--new-instance", "about:blank"])
        window = desktop.wait_for_window("Firefox", timeout=60)
        assert window.width > 600
        browser.kill()
        assert browser.wait(20) is not None


def test_first_app_window_appears_at_once() -> None:
    """An app launched as soon as the desktop is up shows its window within 1.5 s, and so does the next one.

    The first one used to take 5 s: openbox announces itself (_NET_SUPPORTING_WM_CHECK) before it loads its theme,
    which took a second in a fresh container (fontconfig rescanned the fonts its stale cache covered); an
    app's ConfigureRequest that arrives before openbox runs its event loop sits unread until the next X event,
    and xterm (Xt) waits its wmTimeout, 5 s, for the window manager's answer before it maps the window anyway.
    """
    with Desktop(backend="docker") as desktop:
        took = []
        for title in ("first-app", "second-app"):
            started = time.monotonic()
            desktop.launch(["xterm", "-T", title, "-e", "sleep", "120"])  # no shell: its prompt would retitle it
            desktop.wait_for_window(title, timeout=20)  # polls windows(): the WM lists the window once it maps it
            took.append(time.monotonic() - started)
    assert max(took) < 1.5, f"launch() to window present: {', '.join(f'{t:.2f} s' for t in took)}"


def test_stopped_container_starts_again(engine: Any) -> None:
    """The start script removes the X locks a stopped container keeps, so `docker start` brings it back."""
    from jupyter_desktop.rfb import RFBClient

    async def main() -> None:
        backend = DockerBackend()
        desktop = await backend.start(DesktopSpec(profile="openbox"), f"again{uuid.uuid4().hex[:4]}")
        try:
            container = engine.containers.get(desktop.container_id)
            container.kill()  # SIGKILL: Xvnc leaves its lock files behind
            container.wait(timeout=30)
            lock, _ = container.get_archive("/tmp/.X1-lock")
            assert b"".join(lock)  # the stale lock is there
            for _ in range(1200):  # the backend noticed (and kept the reason); at most 60 s
                if desktop.died():
                    break
                await asyncio.sleep(0.05)
            assert "exited with status" in (desktop.died() or "")
            ready = desktop.dir / "rfb" / "ready"
            ready.unlink()  # left from the first start
            container.start()
            for _ in range(1200):  # at most 60 s
                if ready.exists():
                    break
                await asyncio.sleep(0.05)
            assert ready.exists(), container.logs(tail=20).decode()
            client = await RFBClient.open(desktop.endpoint.path)
            try:
                assert (client.width, client.height) == (1280, 800)
            finally:
                await client.close()
        finally:
            await desktop.stop()
            await backend.close()

    run(main())


# ---------------------------------------------------------------------- accessibility


_QUESTION = ["yad", "--title", "Question", "--text", "Save the file?", "--button", "Yes:0", "--button", "No:1"]


def test_accessibility_bus_reaches_the_host(engine: Any) -> None:
    """This process reads a GTK dialog's widgets in the container and presses its buttons: the session bus and
    the accessibility bus are sockets in the folder the host mounts. The bus's processes go with the container."""
    from jupyter_desktop.atspi import AtspiClient

    async def answer(session: Any, client: AtspiClient, button: str) -> int:
        dialog = await session.launch(_QUESTION)
        deadline = time.monotonic() + 30
        while True:  # its widgets come on the bus a moment after it starts
            nodes = (await client.snapshot(app="yad"))["nodes"]
            found = [n for n in nodes if n["role"] == "push button" and n["name"] == button]
            if found:
                break
            assert time.monotonic() < deadline and dialog.returncode is None, (dialog.returncode, nodes)
            await asyncio.sleep(0.05)
        assert "Click" in found[0]["actions"] and found[0]["bounds"], found[0]
        assert any(n["role"] == "label" and n["name"] == "Save the file?" for n in nodes), nodes
        await client.command(found[0]["ref"], "do", "Click")  # the dialog closes (and its node goes) at once
        return await dialog.wait(20)

    async def main() -> list[tuple[int, str]]:
        manager = DesktopManager({"docker": DockerBackend()}, default_backend="docker")
        try:
            session = await manager.create(DesktopSpec(profile="openbox"))
            address = await session.desktop.accessibility_bus()
            socket_path = (session.desktop.dir / "rfb").resolve() / "runtime" / "at-spi" / "bus_1"
            assert address.startswith(f"unix:path={socket_path},guid="), address
            client = await AtspiClient.connect(address)
            try:
                assert await answer(session, client, "Yes") == 0
                assert await answer(session, client, "No") == 1
            finally:
                client.close()
            top = engine.api.top(session.desktop.container_id, ps_args="-eo pid,args")
            return [(int(pid), args) for pid, args in top["Processes"] if "at-spi" in args]
        finally:
            await manager.stop_all()

    buses = run(main())
    names = " ".join(args for _, args in buses)
    assert "at-spi-bus-launcher" in names and "at-spi2-registryd" in names and "accessibility.conf" in names, buses
    for pid, args in buses:  # gone with the container (the engine's pids are this host's)
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            assert "at-spi" not in Path(f"/proc/{pid}/cmdline").read_text(), f"{args} (pid {pid}) outlived its container"


def test_firefox_page_through_the_tree() -> None:
    """Firefox in a container shows a page: its button is found by name in the tree and clicked, and the page's
    script answers in a paragraph the tree reads (Firefox joins the bus by GNOME_ACCESSIBILITY)."""
    page = ("<title>Orders</title><h1>Orders</h1><p id=said>nothing yet</p>"
            "<button onclick=\"document.getElementById('said').textContent='Order sent'\">Send order</button>")  # fmt: skip
    with Desktop(backend="docker") as desktop:
        desktop.run(["sh", "-c", "mkdir -p /tmp/profile && cat > /tmp/page.html"], input=page).check()
        browser = desktop.launch(["firefox-esr", "--new-instance", "--profile", "/tmp/profile", "file:///tmp/page.html"])
        button = desktop.wait_for_node("push button", "Send order", app="Firefox", timeout=90)
        assert desktop.wait_for_node("paragraph", text="nothing yet", app="Firefox")
        button.click()
        said = desktop.wait_for_node("paragraph", text="Order sent", app="Firefox")
        assert said.text == "Order sent" and said.bounds
        assert "- heading 'Orders'" in desktop.accessibility(format="text", app="Firefox")
        browser.kill()


def test_accessibility_bus_errors_say_why(tmp_path: Path) -> None:
    """A bus the host cannot reach is an AccessibilityError that says why; a symbolic link the container made
    never takes this process to a socket outside the desktop's folder."""
    from jupyter_desktop.backends.docker import RUN_DIR
    from jupyter_desktop.errors import AccessibilityError

    async def main() -> None:
        backend = DockerBackend()
        spec = DesktopSpec(profile="none", env={"XDG_RUNTIME_DIR": "/tmp/elsewhere"})
        desktop = await backend.start(spec, f"a11y{uuid.uuid4().hex[:5]}")
        try:
            with pytest.raises(AccessibilityError, match=f"is not a socket in {RUN_DIR}"):
                await desktop.accessibility_bus()  # the launcher put it in /tmp/elsewhere/at-spi
            with socket.socket(socket.AF_UNIX) as outside:  # a socket of this host the container names
                outside.bind(str(tmp_path / "host.sock"))
                (await desktop.run(["ln", "-s", str(tmp_path / "host.sock"), f"{RUN_DIR}/link"])).check()
                assert (desktop.dir / "rfb" / "link").is_socket()  # here, the link leads to it
                assert desktop._host_socket(f"{RUN_DIR}/link") is None
            assert desktop._host_socket(f"{RUN_DIR}/rfb.sock") == Path(desktop.endpoint.path).resolve()
            (desktop.dir / "rfb" / "bus").unlink()
            with pytest.raises(AccessibilityError, match="no session bus"):
                await desktop.accessibility_bus()
        finally:
            await desktop.stop()
            await backend.close()

    run(main())


# ---------------------------------------------------------------------- adoption and orphans


def test_restarted_server_adopts_its_desktops(engine: Any) -> None:
    server = f"pytest-{uuid.uuid4().hex[:8]}"

    async def main() -> None:
        first = DockerBackend(server_id=server)
        manager1 = DesktopManager({"docker": first}, default_backend="docker")
        second = DockerBackend(server_id=server)
        manager2 = DesktopManager({"docker": second}, default_backend="docker")
        try:
            session = await manager1.create(DesktopSpec(width=900, height=700))
            await session.launch(["xterm", "-T", "survivor", "-e", "bash", "--norc"])
            # While the first server lives, the second takes nothing and removes nothing.
            assert await manager2.adopt() == []
            assert await second.reap_orphans() == []
            assert await DockerBackend(server_id="another-server").reap_orphans() == []
            assert engine.containers.get(session.to_dict()["container"]).status == "running"

            await first.close()  # the first server "dies": its desktops stay
            adopted = await manager2.adopt()
            assert [s.id for s in adopted] == [session.id]
            again = manager2.get(session.id)
            assert again.status == "running" and again.spec.width == 900
            image = await again.capture()
            assert image.size == (900, 700)
            for _ in range(300):  # the exec channel works too (xterm may still be mapping); at most 30 s
                windows = await again.windows()
                if any(w.title == "survivor" for w in windows):
                    break
                await asyncio.sleep(0.1)
            assert any(w.title == "survivor" for w in windows), windows
            # now owned by the second server: nobody else adopts or reaps it
            third = DockerBackend(server_id=server)
            assert await third.adopt() == []
            assert await third.reap_orphans() == []
            await third.close()
        finally:
            await manager2.stop_all()
            await manager1.stop_all()

    run(main())
    assert not _mine(engine)


def test_orphans_nobody_can_adopt_are_reaped(engine: Any) -> None:
    async def main() -> None:
        gone = DockerBackend()  # no server id: its desktops belong to it alone
        desktop = await gone.start(DesktopSpec(profile="none"), f"orph{uuid.uuid4().hex[:4]}")
        try:
            assert await DockerBackend().reap_orphans() == []  # its owner lives
            await gone.close()
            reaper = DockerBackend()
            assert desktop.id in await reaper.reap_orphans()
            with pytest.raises(docker.errors.NotFound):
                engine.containers.get(desktop.container_id)
            assert not desktop.dir.exists()
            await reaper.close()
        finally:
            await desktop.stop()

    run(main())


_CHILD = """
import sys, time
from jupyter_desktop import Desktop
d = Desktop(backend="docker", profile="none")
print(d.id, d.info["container"], flush=True)
if sys.argv[1] == "exit":
    sys.exit(0)  # no close(): atexit removes the container
time.sleep(600)
"""


def test_owner_process_death(engine: Any) -> None:
    """A script that exits removes its desktops; one that is SIGKILLed leaves them to the next reaper."""
    ids, containers = [], []
    try:
        for how in ("exit", "kill"):
            child = subprocess.Popen([sys.executable, "-c", _CHILD, how], stdout=subprocess.PIPE, text=True)
            line = child.stdout.readline().split()
            assert len(line) == 2, "the child could not start a desktop"
            ids.append(line[0])
            containers.append(line[1])
            if how == "kill":
                child.kill()
            assert child.wait(60) in (0, -9)
            child.stdout.close()
        with pytest.raises(docker.errors.NotFound):
            engine.containers.get(containers[0])
        assert engine.containers.get(containers[1]).status == "running"
        reaper = DockerBackend()
        reaped = run(reaper.reap_orphans())
        run(reaper.close())
        assert ids[1] in reaped
        with pytest.raises(docker.errors.NotFound):
            engine.containers.get(containers[1])
    finally:
        for container in containers:
            with contextlib.suppress(docker.errors.NotFound):
                engine.containers.get(container).remove(force=True)


# ---------------------------------------------------------------------- isolation, limits, cleanup


def test_limits_are_applied(engine: Any) -> None:
    async def main() -> None:
        for backend, expected in (
            (DockerBackend(), (2 * 10**9, 4 * 2**30, 4096, 2**30)),
            (
                DockerBackend(cpus=0.5, memory="768m", pids=300, shm_size="128m"),
                (5 * 10**8, 768 * 2**20, 300, 128 * 2**20),
            ),
        ):
            desktop = await backend.start(DesktopSpec(profile="none"), f"lim{uuid.uuid4().hex[:5]}")
            try:
                host = inspect(engine, desktop.info())["HostConfig"]
                assert (host["NanoCpus"], host["Memory"], host["PidsLimit"], host["ShmSize"]) == expected
                assert host["CapDrop"] == ["ALL"] and "no-new-privileges" in host["SecurityOpt"]
            finally:
                await desktop.stop()
                await backend.close()

    run(main())


def test_no_tcp_anywhere(engine: Any) -> None:
    with Desktop(backend="docker") as desktop:
        details = inspect(engine, desktop.info)
        assert not details["HostConfig"]["PortBindings"]
        assert not details["NetworkSettings"]["Ports"]
        listening = desktop.run("cat /proc/net/tcp /proc/net/tcp6").stdout.splitlines()
        # st column 0A is LISTEN: nothing in the container listens on TCP (Xvnc -rfbport -1, -nolisten tcp)
        assert not [line for line in listening if len(line.split()) > 3 and line.split()[3] == "0A"], listening
        # the endpoint is a unix socket in a private directory
        path = Path(desktop._session.desktop.endpoint.path)
        assert stat.S_ISSOCK(path.stat().st_mode)
        assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700


def test_everything_removed_after_close(engine: Any) -> None:
    async def main() -> None:
        manager = DesktopManager({"docker": DockerBackend()}, default_backend="docker")
        sessions = await asyncio.gather(*(manager.create(DesktopSpec(profile="none")) for _ in range(2)))
        folders = [s.desktop.dir for s in sessions]
        assert len(_mine(engine)) == 2
        await manager.delete(sessions[0].id)
        manager.terminate_all_now()  # the synchronous path (atexit, signal handlers)
        assert not any(f.exists() for f in folders)

    run(main())
    assert not _mine(engine)


def test_desktop_user_takes_the_host_uid(tmp_path: Path, engine: Any) -> None:
    work = tmp_path / "work"
    work.mkdir()
    if os.getuid() == 0:
        os.chown(work, 4321, 4321)

    async def main() -> None:
        backend = DockerBackend(uid=4321, gid=4321, workdir=work)
        desktop = await backend.start(DesktopSpec(profile="none"), f"uid{uuid.uuid4().hex[:5]}")
        try:
            result = await desktop.run(["sh", "-c", "id -u; id -g; touch work/made-here; pwd"])
            assert result.stdout.split() == ["4321", "4321", "/home/desktop"], result
            assert (work / "made-here").stat().st_uid == 4321
            assert Path(desktop.endpoint.path).stat().st_uid == 4321
            processes = await desktop.run(["sh", "-c", "ps -eo user= | sort -u"])
            assert "desktop" in processes.stdout.split()
        finally:
            await desktop.stop()
            await backend.close()

    run(main())


# ---------------------------------------------------------------------- exec channel


def test_exec_channel(engine: Any) -> None:
    async def main() -> None:
        backend = DockerBackend()
        desktop = await backend.start(DesktopSpec(profile="none"), f"exe{uuid.uuid4().hex[:5]}")
        try:
            assert (await desktop.run(["cat"], input=b"through stdin")).stdout == "through stdin"
            failed = await desktop.run(["sh", "-c", "echo out; echo err >&2; exit 3"])
            assert (failed.returncode, failed.stdout, failed.stderr) == (3, "out\n", "err\n")
            quick = await asyncio.wait_for(desktop.run(["sh", "-c", "sleep 60 & echo left"], timeout=10), 8)
            assert quick.stdout == "left\n"  # a daemon left behind does not hold run() up
            with pytest.raises(TimeoutError):
                await desktop.run(["sleep", "30"], timeout=1)
            with pytest.raises(InvalidInputError):
                await desktop.run(["no-such-program"])
            with pytest.raises(InvalidInputError):
                await desktop.launch(["no-such-program"])
            done = await desktop.launch(["sh", "-c", "exit 7"])
            assert await done.wait(10) == 7
            sleeper = await desktop.launch(["sh", "-c", "sleep 300 & sleep 300"])
            assert sleeper.returncode is None
            await sleeper.kill()
            assert await sleeper.wait(10) == -15
            assert "sleep 300" not in (await desktop.run(["ps", "-eo", "args"])).stdout  # its whole group
        finally:
            await desktop.stop()
            await backend.close()

    run(main())


def test_opengl_is_opt_in() -> None:
    async def main() -> None:
        backend = DockerBackend()
        try:
            for opengl in (False, True):
                desktop = await backend.start(DesktopSpec(profile="none", opengl=opengl), f"gl{uuid.uuid4().hex[:6]}")
                try:
                    extensions = (await desktop.run(["xdpyinfo", "-queryExtensions"])).stdout
                    assert ("GLX" in extensions) == opengl
                finally:
                    await desktop.stop()
        finally:
            await backend.close()

    run(main())


# ---------------------------------------------------------------------- errors that say what to do


def test_clear_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> None:
        missing = DockerBackend(image="jupyter-desktop:no-such-tag")
        with pytest.raises(ImageMissingError, match="jupyter desktop image build"):
            await missing.start(DesktopSpec(profile="none"), "noimage1")
        await missing.close()
        monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
        with pytest.raises(DockerUnavailableError, match="apt-get install docker.io"):
            await DockerBackend().start(DesktopSpec(), "noengine")
        monkeypatch.setitem(sys.modules, "docker", None)  # the SDK is not installed
        with pytest.raises(DockerUnavailableError, match=r"pip install 'jupyter_desktop\[docker\]'"):
            await DockerBackend().start(DesktopSpec(), "nosdk")

    run(main())


def test_image_tag_and_cli_build() -> None:
    script = subprocess.run(
        ["bash", str(ROOT / "scripts/docker-setup.sh"), "--print-tag"], capture_output=True, text=True
    )
    assert script.stdout.strip() == image_tag()
    cli = [sys.executable, "-m", "jupyter_desktop.cli"]
    assert subprocess.run([*cli, "image", "tag"], capture_output=True, text=True).stdout.strip() == image_tag()
    tag = f"jupyter-desktop:pytest-{uuid.uuid4().hex[:6]}"
    try:
        # Every step is cached (scripts/docker-setup.sh built the same folder): quick, and shows the log.
        build = subprocess.run([*cli, "image", "build", "--tag", tag], capture_output=True, text=True, timeout=600)
        assert build.returncode == 0, build.stderr
        assert re.search(r"Step \d+/\d+ : FROM debian:bookworm-slim", build.stdout), build.stdout
        assert f"built {tag}" in build.stdout
    finally:
        subprocess.run(["docker", "rmi", tag], capture_output=True)
    if shutil.which("jupyter-desktop") or (Path(sys.executable).parent / "jupyter-desktop").exists():
        console = shutil.which("jupyter-desktop") or str(Path(sys.executable).parent / "jupyter-desktop")
        assert subprocess.run([console, "image", "tag"], capture_output=True, text=True).stdout.strip() == image_tag()


def test_unix_socket_answers_only_here() -> None:
    """The endpoint is reachable from this host through the private directory, not by the network."""
    with Desktop(backend="docker", profile="none") as desktop:
        path = desktop._session.desktop.endpoint.path
        with socket.socket(socket.AF_UNIX) as probe:
            probe.settimeout(5)
            probe.connect(path)
            assert probe.recv(12).startswith(b"RFB 003.")
