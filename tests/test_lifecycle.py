"""Local desktops start clean, stay private, and leave nothing behind however their owner ends."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from jupyter_desktop import Desktop, MissingDependencyError
from jupyter_desktop.backends import _proc
from jupyter_desktop.backends.local import registry_dir

from .conftest import X_SERVERS, eventually, marked, start_desktop
from .harness.processes import cmdline, commands, shared_memory
from .harness.waiting import none_left

ROOT = Path(__file__).resolve().parent.parent

# A child Python that starts a desktop with a stubborn app in it (it ignores SIGTERM and SIGHUP and
# leaves its process group), prints the ids, then does what it is told.
OWNER = textwrap.dedent(
    """
    import os, signal, sys, time
    os.environ["JUPYTER_DESKTOP_X_SERVER"] = sys.argv[1]
    how = sys.argv[2]
    if how == "interrupt":  # survive SIGINT, as a kernel does, and say it came
        signal.signal(signal.SIGINT, lambda *args: print("interrupted", flush=True))
    from jupyter_desktop import Desktop
    d = Desktop()
    stubborn = d.launch(["setsid", "sh", "-c", "trap '' TERM HUP; while true; do sleep 1; done"])
    d.launch(["xterm", "-e", "sh"])
    print(d.id, flush=True)
    if how in ("exit", "raise", "sigterm", "sigterm-elsewhere"):  # ending must not hang: if it does,
        # print where each thread is, and end
        import faulthandler
        faulthandler.dump_traceback_later(25, exit=True)
    sys.stdin.readline()  # the test looks at the desktop first
    if how == "exit":
        sys.exit(0)
    if how == "raise":
        raise RuntimeError("the owner failed")
    if how == "interrupt":
        for line in sys.stdin:  # asked after the interrupt: does the desktop still answer?
            d.screenshot()  # a frame Xvnc renders now
            print("answers", len(d.windows()), flush=True)  # and an X round trip
    if how == "sigterm-elsewhere":  # what a SIGTERM landing just before a blocking call leaves: Python has it,
        import threading  # its handler waits for the main thread, which sleeps on

        def elsewhere():
            main = threading.main_thread().native_id
            while "nanosleep" not in open(f"/proc/self/task/{main}/wchan").read():
                time.sleep(0.01)
            signal.pthread_kill(threading.get_ident(), signal.SIGTERM)

        threading.Thread(target=elsewhere, daemon=True).start()
    time.sleep(600)  # wait for a signal
    """
)


def run_owner(x_server: str, how: str) -> tuple[subprocess.Popen, str]:
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, x_server, how],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        start_new_session=True,
    )
    desktop_id = owner.stdout.readline().strip()
    assert desktop_id, owner.stderr.read()
    eventually(lambda: len(marked(desktop_id)) >= 4, what="desktop processes up")  # X, WM, dbus, apps
    owner.stdin.write("go\n")
    owner.stdin.flush()
    return owner, desktop_id


@pytest.mark.parametrize("x_server", X_SERVERS)
@pytest.mark.parametrize("how", ["exit", "raise", "sigterm", "sigterm-elsewhere"])
def test_nothing_outlives_its_owner(x_server: str, how: str):
    owner, desktop_id = run_owner(x_server, how)
    if how == "sigterm":
        # once the owner sleeps, as a kernel waits in its poll. (A signal that lands between Python's last check
        # and the sleep's system call is the sigterm-elsewhere case.)
        eventually(lambda: "nanosleep" in Path(f"/proc/{owner.pid}/wchan").read_text(), what="the owner asleep")
        owner.send_signal(signal.SIGTERM)
    code = owner.wait(60)  # it ends itself after 25 s, with its threads' tracebacks on stderr
    expected = {"exit": 0, "raise": 1, "sigterm": -signal.SIGTERM, "sigterm-elsewhere": -signal.SIGTERM}[how]
    assert code == expected, owner.stderr.read()
    assert not commands(desktop_id), f"desktop processes survived their owner: {commands(desktop_id)}"
    assert not (registry_dir() / desktop_id).exists()


@pytest.mark.parametrize("x_server", X_SERVERS)
def test_sigkilled_owner_is_reaped_by_the_next_start(x_server: str):
    owner, desktop_id = run_owner(x_server, "wait")
    record = json.loads((registry_dir() / desktop_id / "desktop.json").read_text())
    pids = {p for p, _ in record["pids"]}
    if x_server == "xvfb":  # x11vnc's images, which its death signal (SIGKILL) leaves behind
        eventually(lambda: shared_memory(pids), what="x11vnc's shared memory")
    owner.send_signal(signal.SIGKILL)
    owner.wait(10)
    # PR_SET_PDEATHSIG takes the desktop's own processes down at once; the app that ignores SIGTERM
    # (and whatever a user's shell left running) survives until the next start reaps it.
    own = ("Xvnc", "Xvfb", "x11vnc", "openbox", "dbus-daemon")
    none_left(
        lambda: [c for c in map(cmdline, marked(desktop_id)) if any(name in c for name in own)],
        what="the X server, VNC server, window manager or bus",
    )
    assert any("trap" in cmdline(p) for p in marked(desktop_id))
    assert (registry_dir() / desktop_id).exists()
    with start_desktop(x_server, "none"):  # any start reaps orphans first
        assert not marked(desktop_id)
        assert not (registry_dir() / desktop_id).exists()
        assert not shared_memory(pids)
        assert not Path(f"/tmp/.X{record['display']}-lock").exists() or _lock_pid_alive(record["display"])


def test_stopping_an_xvfb_desktop_leaves_no_shared_memory():
    """x11vnc is SIGKILLed (its SIGTERM handler can deadlock), so it cannot remove its MIT-SHM segments itself:
    left, they add up to the system's limit and x11vnc no longer starts."""
    with start_desktop("xvfb", "none") as d:
        x11vnc = {p for p in marked(d.id) if "x11vnc" in cmdline(p)}
        eventually(lambda: shared_memory(x11vnc), what="x11vnc's shared memory")
    assert not shared_memory(x11vnc)


def _lock_pid_alive(display: int) -> bool:
    try:
        return _proc.is_alive(int(Path(f"/tmp/.X{display}-lock").read_text().strip()))
    except (OSError, ValueError):
        return False


FORKER = textwrap.dedent(
    """
    import multiprocessing, os, sys, time
    os.environ["JUPYTER_DESKTOP_X_SERVER"] = "xvnc"
    from jupyter_desktop import Desktop
    d = Desktop("none")
    pid = os.fork()
    if pid == 0:
        sys.exit(0)  # a child that ends as a program does: atexit runs
    os.waitpid(pid, 0)
    worker = multiprocessing.get_context("fork").Process(target=time.sleep, args=(600,))
    worker.start()
    worker.terminate()  # SIGTERM, perhaps before its fork hook ran
    worker.join(30)
    # the screenshot's round trips run on the loop thread after it read the worker's wakeup byte (written before
    # the worker died), had that been taken for a SIGTERM of ours
    print(worker.exitcode, d.screenshot().size, flush=True)
    d.close()
    """
)


def test_forked_children_leave_their_parents_desktops_alone():
    """A multiprocessing worker (fork) inherits the desktop's manager and its SIGTERM handling; terminated, or
    ending through atexit, it must not stop its parent's desktops (it did: the parent's X server was gone)."""
    result = subprocess.run([sys.executable, "-c", FORKER], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split("\n")[0] == f"{-signal.SIGTERM} (1280, 800)", result.stderr[-3000:]


def test_kernel_interrupt_does_not_reach_the_desktop():
    """Jupyter interrupts a kernel with SIGINT to its whole process group; the desktop is not in it."""
    owner, desktop_id = run_owner("xvnc", "interrupt")  # the owner survives SIGINT, as a kernel does
    try:
        # the desktop's long-lived processes (shells and sleeps come and go by themselves)
        core = ("Xvnc", "openbox", "dbus-daemon", "xterm", "trap")
        before = {p for p in marked(desktop_id) if any(name in cmdline(p) for name in core)}
        assert len(before) >= 4, [cmdline(p) for p in marked(desktop_id)]  # xterm may still be starting
        os.killpg(owner.pid, signal.SIGINT)
        assert owner.stdout.readline() == "interrupted\n"  # the owner's group got it (and the owner survived)
        owner.stdin.write("still there?\n")
        owner.stdin.flush()
        # X server and VNC server served requests made after the signal: a signalled Xvnc would have quit
        reply = owner.stdout.readline()
        assert reply.startswith("answers"), reply or f"the owner ended: {owner.stderr.read()[-2000:]}"
        died = [p for p in before if not _proc.is_alive(p)]
        assert not died, f"an interrupt of the owner killed desktop processes {died}"
    finally:
        owner.kill()
        owner.wait(10)


def test_desktop_processes_are_not_in_the_owner_process_group():
    with start_desktop("xvnc") as d:
        pids = marked(d.id)
        assert pids
        assert all(os.getpgid(p) != os.getpgid(0) for p in pids)


@pytest.mark.parametrize("x_server", X_SERVERS)
def test_private_unix_socket_no_tcp_listener(x_server: str):
    with start_desktop(x_server) as d:
        path = Path(d._session.desktop.endpoint.path)
        assert stat.S_ISSOCK(path.stat().st_mode)
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert path.parent.stat().st_uid == os.getuid()
        listening = subprocess.run(["ss", "-ltnpH"], capture_output=True, text=True, check=True).stdout
        pids = marked(d.id)
        offenders = [line for line in listening.splitlines() if any(f"pid={p}," in line for p in pids)]
        assert not offenders, f"desktop processes listen on TCP: {offenders}"


def test_x_display_needs_the_cookie():
    with start_desktop("xvnc", "none") as d:
        display = d.info["display"]
        assert d.run("xdpyinfo >/dev/null && echo yes").stdout == "yes\n"
        stranger = subprocess.run(
            ["xdpyinfo"], env={"DISPLAY": display, "XAUTHORITY": "/dev/null", "PATH": os.environ["PATH"]},
            capture_output=True, text=True, timeout=20,
        )  # fmt: skip
        assert stranger.returncode != 0, "an X client without the cookie got in"


def test_stale_x_locks_and_sockets_never_block_a_start():
    made = []
    os.makedirs("/tmp/.X11-unix", exist_ok=True)
    for n in range(0, 40):
        lock, sock = Path(f"/tmp/.X{n}-lock"), Path(f"/tmp/.X11-unix/X{n}")
        if lock.exists() or sock.exists():
            continue
        lock.write_text(f"{'999999' if n % 2 else 'garbage'}\n")  # a dead pid, or junk
        sock.write_text("")  # a leftover socket path
        made += [lock, sock]
    try:
        with start_desktop("xvnc", "none") as d:
            assert d.screenshot().size == (1280, 800)
        with start_desktop("xvfb", "none") as d:
            assert d.screenshot().size == (1280, 800)
    finally:
        for path in made:
            path.unlink(missing_ok=True)


@pytest.mark.xfce
def test_xfce_profile_full_desktop_without_screensaver():
    with start_desktop("xvnc", "xfce") as d:
        titles = eventually(lambda: [w.title for w in d.windows() if w.title in ("xfce4-panel", "Desktop")], timeout=60)
        assert "xfce4-panel" in titles
        procs = d.run("ps -eo args").stdout
        assert "xfwm4" in procs and "xfdesktop" in procs
        for locker in ("xfce4-screensaver", "light-locker", "xscreensaver", "xfce4-power-manager"):
            assert locker not in procs
        assert d.wait_until_stable(timeout=60, quiet=1.0)
        assert "timeout:  0" in d.run("xset q").stdout  # the X server's own screen saver is off
    assert not marked(d.id)


def test_openbox_and_custom_session_profiles():
    with start_desktop("xvnc") as d:
        assert "Openbox" in d.run("wmctrl -m").stdout
    with start_desktop("xvnc", ["xterm", "-T", "session-term"]) as d:
        assert d.wait_for_window("session-term")
    with start_desktop("xvnc", "xterm -T 'quoted session'") as d:
        assert d.wait_for_window("quoted session")


def test_missing_x_server_names_the_package(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing installed
    with pytest.raises(MissingDependencyError, match="apt-get install tigervnc-standalone-server"):
        Desktop()
    monkeypatch.setenv("JUPYTER_DESKTOP_X_SERVER", "xvfb")
    with pytest.raises(MissingDependencyError, match="apt-get install xvfb"):
        Desktop()


def test_close_and_garbage_collection_stop_the_desktop():
    d = start_desktop("xvnc", "none")
    desktop_id = d.id
    assert marked(desktop_id)
    d.close()
    assert not marked(desktop_id)
    d = start_desktop("xvnc", "none")
    desktop_id = d.id
    del d  # dropped without close(): the desktop goes too
    none_left(lambda: commands(desktop_id), what="the collected desktop's processes")


def test_someone_elses_directory_in_tmp_does_not_block_desktops(monkeypatch, tmp_path):
    """/tmp is shared: another user can create /tmp/jupyter-desktop-<our uid> first (on a JupyterHub, a student
    against a classmate; the sticky bit keeps the victim from removing it). Desktops then live in a private
    directory of ours next to it, found again by later starts, and reaped from there."""
    import tempfile

    from jupyter_desktop.backends.local import reap_orphans
    from jupyter_desktop.backends.owners import private_dir

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    squatted = tmp_path / f"jupyter-desktop-{os.getuid()}"
    squatted.mkdir(mode=0o755)
    os.chown(squatted, 65534, 65534)  # nobody's (the tests run as root, as CI does)
    ours = registry_dir()
    assert ours != squatted and ours.name.startswith(squatted.name + "-")
    assert ours.stat().st_uid == os.getuid() and stat.S_IMODE(ours.stat().st_mode) == 0o700
    assert registry_dir() == ours  # the same one again
    decoy = tmp_path / f"{squatted.name}-0000"  # another of that prefix, not ours: never taken
    decoy.mkdir()
    os.chown(decoy, 65534, 65534)
    assert private_dir("jupyter-desktop") == ours
    with Desktop("none") as d:
        assert d._session.desktop.dir.parent == ours
        assert d.screenshot().size == (1280, 800)
    assert reap_orphans() == []  # it scans the same directory


def test_the_reaper_takes_no_pid_the_system_gave_to_another_process(monkeypatch, tmp_path):
    """An orphan's record lists its processes' pids; by the time a later start reaps it, the system may have given
    a pid to someone else's process. The record's start times tell them apart."""
    import tempfile

    from jupyter_desktop.backends.local import reap_orphans

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead_owner = subprocess.Popen(["true"])
    dead_owner.wait()
    stranger = subprocess.Popen(["sleep", "600"])  # no marker: not a desktop's
    try:
        started = _proc.start_time(stranger.pid)
        for desktop_id, recorded in (("a0000001", started + 1), ("a0000002", started)):
            entry = registry_dir() / desktop_id
            entry.mkdir(mode=0o700)
            record = {"id": desktop_id, "pids": [[stranger.pid, recorded]]}
            record.update(owner_pid=dead_owner.pid, owner_start=1)  # gone, even were its pid given again
            (entry / "desktop.json").write_text(json.dumps(record))
            assert reap_orphans() == [desktop_id]
            assert not entry.exists()
            if recorded != started:  # a pid the system has given again: left alone
                assert _proc.is_alive(stranger.pid, started)
        # the same process, by pid and start time: the desktop's, killed (so the check above can fail)
        assert stranger.wait(10) == -signal.SIGTERM
    finally:
        stranger.kill()
        stranger.wait()
