"""A real JupyterHub for the tests: the `jupyterhub` process from PyPI with the npm configurable-http-proxy, real
unix users (student1..3 in the unix group `students`, teacher in `teachers`) logging in with their unix passwords
(PAM), the localprocess spawner, everything on 127.0.0.1 with free ports, configured by deploy/jupyterhub_config.py
(the recipe a class on one machine uses) plus a test-only service token.

Needs root (it creates users with useradd and the hub switches to their uids): scripts/hub_setup.py makes the users,
installs configurable-http-proxy in .venv and the students' venv under /opt/jupyter-desktop-hub (students cannot
run .venv's python). ``bootstrap.sh test`` runs it first; the fixture runs it too (a no-op when nothing changed).

In tests (the ``hub`` fixture is tests/conftest.py's: module-scoped, one hub per module)::

    def test_something(hub):
        hub.start_server("student1")                  # spawned through the hub's REST API, waits until ready
        token = hub.token("student1")                 # an API token of student1 (the user's own permissions)
        api = hub.desktop_api("student1", token)      # httpx.Client at /user/student1/desktop/api/
        api.post("desktops", json={"width": 800, "height": 600})
        page = hub.browser_login(context, "student1")  # Playwright: the hub's login form, the unix password
        hub.browser_open(page, "student1", "lab")     # the OAuth round trip; "Authorize" clicked for a teacher
        client = hub.http_login("student2")           # the same without a browser (httpx, cookies)
        hub.open_server(client, "student1")           # -> 403: not student2's server
        hub.stop_server("student1")

``running_hub(path, config=DOCKER_CONFIG, env={...})`` starts another hub (DockerSpawner, short culling times).

Nothing outlives a hub: it runs under a small supervisor that is the subreaper of the hub's whole tree (servers,
desktops, daemons that double-fork) and exits only when every process in it has; ``Hub.stop()`` fails, naming
them, when some do not end after the hub did. PID 1 here reaps nothing, so without that the tree's orphans would
stay as zombies. Hub sessions on one machine take turns (a lock file): they share the unix users, and a test that
checks ``pgrep -u student1`` must not see another session's servers.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import pwd
import re
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from .server import free_port
from .waiting import eventually

ROOT = Path(__file__).resolve().parents[2]
DEPLOY_CONFIG = ROOT / "deploy" / "jupyterhub_config.py"
DOCKER_CONFIG = ROOT / "deploy" / "jupyterhub_docker_config.py"
SETUP = ROOT / "scripts" / "hub_setup.py"
STUDENTS = ["student1", "student2", "student3"]
TEACHERS = ["teacher"]
USERS = STUDENTS + TEACHERS
LOCK_PATH = Path("/opt/jupyter-desktop-hub/tests.lock")
TEST_SERVICE = "test-driver"

# The hub's test-only additions to deploy/jupyterhub_config.py: a service whose token drives the hub's REST API
# (start and stop servers, make users' tokens), nothing else.
_TEST_CONFIG = """\
import os
load_subconfig({deploy!r})
c.JupyterHub.services.append({{"name": {service!r}, "api_token": os.environ["JD_HUB_TEST_TOKEN"]}})
c.JupyterHub.load_roles.append({{
    "name": {service!r},
    "services": [{service!r}],
    "scopes": ["list:users", "read:users", "admin:servers", "tokens"],
}})
"""

# Runs the hub as its child; the subreaper of everything below it; exits once every descendant has (so its exit
# means the hub's whole tree is gone), with the hub's status. SIGTERM/SIGINT go to the hub.
_SUPERVISOR = r"""
import ctypes, os, signal, subprocess, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.prctl(36, 1, 0, 0, 0)                      # PR_SET_CHILD_SUBREAPER
libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)     # PR_SET_PDEATHSIG: pytest gone -> stop the hub
if os.getppid() != int(sys.argv[1]):
    sys.exit(1)
hub = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL)
def forward(sig, frame):
    if hub.returncode is None:
        try:
            os.kill(hub.pid, sig)
        except ProcessLookupError:
            pass
signal.signal(signal.SIGTERM, forward)
signal.signal(signal.SIGINT, forward)
code = 0
while True:
    try:
        pid, status = os.wait()
    except ChildProcessError:
        break
    if pid == hub.pid:
        hub.returncode = code = os.waitstatus_to_exitcode(status)
        print(f"supervisor: hub exited with {code}", flush=True)
sys.exit(0 if code in (0, -signal.SIGTERM) else 3)
"""


# ---------------------------------------------------------------------------------------------- processes


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    uid: int
    state: str
    comm: str
    cmdline: str

    def __str__(self) -> str:
        user = _user_name(self.uid)
        return f"{self.pid} ({user}, {self.state}, ppid {self.ppid}) {self.cmdline[:200] or '[' + self.comm + ']'}"


def _user_name(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)


def processes() -> list[Proc]:
    out = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/stat", "rb") as f:
                stat = f.read()
            with open(f"/proc/{entry.name}/cmdline", "rb") as f:
                cmdline = f.read()
            uid = os.stat(f"/proc/{entry.name}").st_uid
        except OSError:
            continue
        close = stat.rindex(b")")
        fields = stat[close + 2 :].split()
        comm = stat[stat.index(b"(") + 1 : close].decode(errors="replace")
        args = " ".join(shlex.quote(a.decode(errors="replace")) for a in cmdline.split(b"\0") if a)
        out.append(Proc(int(entry.name), int(fields[1]), uid, fields[0].decode(), comm, args))
    return out


def descendants(pid: int) -> list[Proc]:
    procs = processes()
    children: dict[int, list[Proc]] = {}
    for p in procs:
        children.setdefault(p.ppid, []).append(p)
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child.pid)
    return out


def user_processes(user: str) -> list[Proc]:
    """Every process of the user, zombies included (what ``pgrep -u`` counts)."""
    uid = pwd.getpwnam(user).pw_uid
    return [p for p in processes() if p.uid == uid]


def pgrep_u(user: str) -> list[str]:
    """``pgrep -u user``: the pids of the user's processes (zombies too), as the issue's acceptance says."""
    result = subprocess.run(["pgrep", "-u", user], capture_output=True, text=True)
    return result.stdout.split()


def nothing_left(user: str) -> bool:
    return not pgrep_u(user)


def describe(procs: list[Proc]) -> str:
    return "\n  ".join(str(p) for p in procs) or "(none)"


def pss_kib(pids: list[int]) -> int:
    """Proportional set size of these processes (shared pages split among their users), KiB."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1])
    return total


# ---------------------------------------------------------------------------------------------- machine setup

_setup: dict[str, Any] = {}
_passwords: dict[str, str] = {}


def _machine_setup() -> dict[str, Any]:
    """scripts/hub_setup.py (users, proxy, students' venv; a no-op when all is there) with fresh random passwords,
    which hold while this session's hubs run: the accounts are locked again when the last one stops."""
    if os.geteuid() != 0:
        pytest.fail("the JupyterHub tests need root: they create unix users and the hub switches to their uids")
    passwords = {user: secrets.token_urlsafe(12) for user in USERS}
    with tempfile.NamedTemporaryFile("w", prefix="hub-passwords-") as f:  # 0600
        f.write("".join(f"{u}:{p}\n" for u, p in passwords.items()))
        f.flush()
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, str(SETUP), "--password-file", f.name], capture_output=True, text=True, timeout=900
        )
    if result.returncode != 0:
        pytest.fail(f"scripts/hub_setup.py failed ({result.returncode}):\n{result.stderr[-4000:]}")
    _setup.update(json.loads(result.stdout.strip().splitlines()[-1]))
    _setup["setup_seconds"] = round(time.monotonic() - started, 1)
    _passwords.update(passwords)
    return _setup


def singleuser_image() -> str:
    """The tag of deploy/singleuser's image for DockerSpawner, built when missing (minutes; bootstrap.sh builds it
    first). Under the session lock: the setup may reinstall the students' venv, which another session's hub uses."""
    _lock.acquire()
    try:
        result = subprocess.run([sys.executable, str(SETUP), "--docker-image"], capture_output=True, text=True,
                                timeout=1500)  # fmt: skip
    finally:
        _lock.release()
    if result.returncode != 0:
        pytest.fail(f"scripts/hub_setup.py --docker-image failed ({result.returncode}):\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])["singleuser_image"]


def _lock_accounts() -> None:
    for user in USERS:
        subprocess.run(["usermod", "--lock", user], capture_output=True)
    _passwords.clear()


class _SessionLock:
    """Hub sessions on this machine take turns: they share the unix users (and their passwords). Reentrant within
    this process; the first hold sets the machine up and the users' passwords, the last release locks them."""

    def __init__(self) -> None:
        self.count = 0
        self.file: Any = None

    def acquire(self, timeout: float = 280.0) -> None:
        if self.count == 0:
            LOCK_PATH.parent.mkdir(parents=True, exist_ok=True)
            f = open(LOCK_PATH, "a+")  # noqa: SIM115
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        f.seek(0)
                        holder = f.read().strip()
                        f.close()
                        pytest.fail(f"another JupyterHub test session holds {LOCK_PATH} ({holder}) since {timeout:g} s")
                    time.sleep(0.5)
            f.seek(0)
            f.truncate()
            f.write(f"pid {os.getpid()}: {' '.join(sys.argv)[:200]}\n")
            f.flush()
            try:
                _machine_setup()
            except BaseException:
                f.close()
                raise
            self.file = f
        self.count += 1

    def release(self) -> None:
        self.count -= 1
        if self.count == 0 and self.file is not None:
            _lock_accounts()
            self.file.close()  # closing releases the lock
            self.file = None


_lock = _SessionLock()


# ---------------------------------------------------------------------------------------------- the hub


@dataclass
class Hub:
    """A running JupyterHub. ``url`` is the public URL (the proxy), ending in /."""

    root: Path
    env: dict[str, str] = field(default_factory=dict)
    url: str = ""
    service_token: str = ""  # the test-driver service's: list users, start/stop servers, make users' tokens
    start_seconds: float = 0.0
    process: subprocess.Popen | None = None
    ports: dict[str, int] = field(default_factory=dict)
    started: set[str] = field(default_factory=set)  # users whose servers start_server started

    # -------------------------------------------------------------- life

    @classmethod
    def start(cls, root: Path, *, config: Path = DEPLOY_CONFIG, env: dict[str, str] | None = None,
              cull_timeout: int | None = None, cull_every: int | None = None,
              activity_interval: int | None = None) -> Hub:  # fmt: skip
        """Start a hub configured by ``config`` (a deploy/ file) with ``env`` added to the JD_HUB_* variables."""
        _lock.acquire()  # sets the machine up on first hold
        try:
            return cls._start(root, config, env or {}, cull_timeout, cull_every, activity_interval)
        except BaseException:
            _lock.release()
            raise

    @classmethod
    def _start(cls, root: Path, config_file: Path, extra_env: dict[str, str], cull_timeout: int | None,
               cull_every: int | None, activity_interval: int | None) -> Hub:  # fmt: skip
        setup = _setup
        root.mkdir(parents=True, exist_ok=True)
        root.chmod(0o700)  # the database, the cookie secret, the log
        hub = cls(root=root)
        hub.service_token = secrets.token_hex(24)
        hub.ports = {"public": free_port(), "hub": free_port(), "proxy_api": free_port()}
        hub.url = f"http://127.0.0.1:{hub.ports['public']}/"
        env = {
            "PATH": f"{Path(sys.executable).parent}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "HOME": os.environ.get("HOME", "/root"),
            "LANG": "C.UTF-8",
            "JD_HUB_STATE_DIR": str(root),
            "JD_HUB_USER_VENV": setup["user_venv"],
            "JD_HUB_PROXY_COMMAND": shlex.join(setup["proxy_command"]),
            "JD_HUB_PUBLIC_URL": hub.url.rstrip("/"),
            "JD_HUB_HUB_URL": f"http://127.0.0.1:{hub.ports['hub']}",
            "JD_HUB_PROXY_API_URL": f"http://127.0.0.1:{hub.ports['proxy_api']}",
            "JD_HUB_TEST_TOKEN": hub.service_token,
        }
        if cull_timeout is not None:
            env["JD_HUB_CULL_TIMEOUT"] = str(cull_timeout)
        if cull_every is not None:
            env["JD_HUB_CULL_EVERY"] = str(cull_every)
        if activity_interval is not None:
            env["JD_HUB_ACTIVITY_INTERVAL"] = str(activity_interval)
        env.update(extra_env)
        hub.env = env
        config = root / "jupyterhub_config.py"
        config.write_text(_TEST_CONFIG.format(deploy=str(config_file), service=TEST_SERVICE))
        log = open(root / "hub.log", "ab")  # noqa: SIM115
        started = time.monotonic()
        try:
            hub.process = subprocess.Popen(
                [sys.executable, "-c", _SUPERVISOR, str(os.getpid()),
                 sys.executable, "-m", "jupyterhub", "-f", str(config)],
                cwd=root, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        finally:
            log.close()
        try:
            eventually(hub._ready, timeout=120, interval=0.1, what="JupyterHub answering /hub/health through the proxy")
        except BaseException:
            hub.stop(check=False, release=False)  # the caller releases
            raise
        hub.start_seconds = time.monotonic() - started
        return hub

    def _ready(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"the hub exited with {self.process.returncode}:\n{self.log()}")
        try:
            return httpx.get(self.url + "hub/health", timeout=5).status_code == 200
        except httpx.HTTPError:
            return False

    def log(self, tail: int = 6000) -> str:
        return (self.root / "hub.log").read_text(errors="replace")[-tail:]

    def tree(self) -> list[Proc]:
        """Every process of this hub: supervisor's descendants (the hub, the proxy, services, servers, desktops)."""
        return descendants(self.process.pid) if self.process else []

    def stop(self, check: bool = True, timeout: float = 120.0, release: bool = True) -> None:
        """SIGTERM the hub (it stops every server, its services and the proxy) and wait until the last process
        of its tree has ended. With ``check``, fails naming the processes that had not after ``timeout``."""
        if self.process is None:
            return
        leftovers: list[Proc] = []
        try:
            if self.process.poll() is None:
                self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                leftovers = self.tree()
                for p in leftovers:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(p.pid, signal.SIGKILL)
                self.process.kill()
                self.process.wait(30)
        finally:
            self.process = None
            if release:
                _lock.release()
        if check and leftovers:
            raise AssertionError(
                f"processes of the hub's tree still ran {timeout:g} s after SIGTERM:\n  {describe(leftovers)}"
            )

    # -------------------------------------------------------------- the hub's REST API

    def api(self, method: str, path: str, timeout: float = 60, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"token {self.service_token}", **kwargs.pop("headers", {})}
        return httpx.request(method, self.url + "hub/api/" + path, headers=headers, timeout=timeout, **kwargs)

    def user_model(self, user: str) -> dict[str, Any]:
        response = self.api("GET", f"users/{user}")
        assert response.status_code == 200, response.text
        return response.json()

    def server_model(self, user: str) -> dict[str, Any] | None:
        return self.user_model(user)["servers"].get("")

    def start_server(self, user: str, timeout: float = 180) -> float:
        """Start the user's default server through the hub's REST API and wait until the hub says it is ready
        (the spawn's progress event stream); returns the seconds it took."""
        started = time.monotonic()
        self.started.add(user)
        response = self.api("POST", f"users/{user}/server")
        if response.status_code == 400 and "already running" in response.text:
            return 0.0
        assert response.status_code in (201, 202), f"{response.status_code} {response.text}"
        if response.status_code == 202:
            with httpx.stream(
                "GET", self.url + f"hub/api/users/{user}/server/progress",
                headers={"Authorization": f"token {self.service_token}", "Accept": "text/event-stream"},
                timeout=httpx.Timeout(timeout, connect=10),
            ) as stream:  # fmt: skip
                assert stream.status_code == 200, stream.read()
                last: dict[str, Any] = {}
                for line in stream.iter_lines():
                    if line.startswith("data:"):
                        last = json.loads(line[5:])
                        if last.get("ready") or last.get("failed"):
                            break
                    if time.monotonic() - started > timeout:
                        break
            assert last.get("ready"), f"{user}'s server did not start: {last}\n{self.log()}"
        model = self.server_model(user)
        assert model and model["ready"], model
        return time.monotonic() - started

    def stop_server(self, user: str, timeout: float = 120) -> None:
        """Stop the user's server through the hub's REST API and wait until the hub has no server for them."""
        response = self.api("DELETE", f"users/{user}/server")
        assert response.status_code in (202, 204), f"{response.status_code} {response.text}"
        eventually(
            lambda: self.server_model(user) is None, timeout=timeout, interval=0.2, what=f"{user}'s server stopped"
        )

    def token(self, user: str, scopes: list[str] | None = None) -> str:
        """A new API token of ``user``: with ``scopes``, or the user's own permissions (``inherit``)."""
        body: dict[str, Any] = {"note": "tests/harness/hub.py", "expires_in": 3600}
        if scopes is not None:
            body["scopes"] = scopes
        response = self.api("POST", f"users/{user}/tokens", json=body)
        assert response.status_code == 201, response.text
        return response.json()["token"]

    # -------------------------------------------------------------- users' servers

    def user_url(self, user: str) -> str:
        """The user's server through the proxy, ending in / (``/user/<name>/``)."""
        return self.url + f"user/{quote(user)}/"

    def ws_url(self, user: str, path: str) -> str:
        return "ws" + self.user_url(user)[4:] + path

    def desktop_api(self, user: str, token: str, **kwargs: Any) -> httpx.Client:
        """A client of the user's desktop REST API with ``token``: its paths are relative to
        ``/user/<name>/desktop/api/`` (``api.post("desktops", json=...)``, ``api.get(f"desktops/{id}/screenshot")``)."""
        return httpx.Client(
            base_url=self.user_url(user) + "desktop/api/",
            headers={"Authorization": f"token {token}"},
            timeout=kwargs.pop("timeout", 120),
            **kwargs,
        )

    # -------------------------------------------------------------- logging in as a person does

    def password(self, user: str) -> str:
        """The user's unix password for this session (random, set with chpasswd by scripts/hub_setup.py)."""
        return _passwords[user]

    def http_login(self, user: str) -> httpx.Client:
        """An httpx client logged in at the hub with the login form (PAM, the user's password): it holds the hub's
        cookies. ``open_server`` then gets a server's cookie through the OAuth round trip, as a browser does."""
        client = httpx.Client(base_url=self.url, timeout=60)
        form = client.get("hub/login")
        assert form.status_code == 200, form.text
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form.text)
        assert xsrf, "no _xsrf in the hub's login form"
        response = client.post(
            "hub/login?next=" + quote("/hub/home"),
            data={"username": user, "password": self.password(user), "_xsrf": xsrf.group(1)},
        )
        assert response.status_code == 302 and "/hub/login" not in response.headers.get("location", ""), (
            f"login of {user} refused: {response.status_code} {response.text[:500]}"
        )
        return client

    def open_server(self, client: httpx.Client, owner: str, page: str = "lab") -> httpx.Response:
        """Open ``owner``'s server page in a logged-in client, following the hub's OAuth redirects and accepting
        its authorization page (shown when someone opens a server not their own) like a person clicking
        "Authorize". Returns the last response: 200 and the server's cookies on success, or the refusal."""
        response = client.get(self.user_url(owner) + page, follow_redirects=True)
        if response.status_code == 200 and 'action=""' in response.text and 'name="scopes"' in response.text:
            xsrf = re.search(r'name="_xsrf" value="([^"]+)"', response.text)
            scopes = re.findall(r'name="scopes" value="([^"]+)"', response.text)
            assert xsrf, response.text[:1000]
            response = client.post(
                str(response.url), data={"_xsrf": xsrf.group(1), "scopes": scopes}, follow_redirects=True
            )
        return response

    def browser_login(self, context: Any, user: str, next_url: str = "/hub/home") -> Any:
        """Log a Playwright browser context in as ``user`` through the hub's login form (the unix password); returns
        the page, left on ``next_url`` (a hub path). Pages of a server then pass the hub's OAuth round trip by
        themselves: ``browser_open(page, owner, "lab")``."""
        page = context.new_page()
        page.goto(self.url + "hub/login?next=" + quote(next_url))
        page.fill("#username_input", user)
        page.fill("#password_input", self.password(user))
        page.click("#login_submit")
        page.wait_for_url(lambda url: "/hub/login" not in url, timeout=60000)
        return page

    def browser_open(
        self, page: Any, owner: str, path: str = "lab", wait_until: str = "load", timeout: float = 60000
    ) -> Any:
        """Open a page of ``owner``'s server (``path``: a page, such as lab or desktop/, not an API route: those
        answer 403 instead of starting the hub's OAuth round trip) in a logged-in Playwright page, clicking
        "Authorize" on the hub's page when it asks (someone else's server: a teacher). Returns the response."""
        response = page.goto(self.user_url(owner) + path, wait_until=wait_until, timeout=timeout)
        if "/hub/api/oauth2/authorize" in page.url and response is not None and response.status == 200:  # it asks
            page.wait_for_selector("form button[type=submit]", timeout=timeout)
            leaves_hub = lambda url: "/hub/" not in url  # noqa: E731
            with page.expect_navigation(url=leaves_hub, wait_until=wait_until, timeout=timeout) as nav:
                page.click("form button[type=submit]")
            response = nav.value
        return response


@contextlib.contextmanager
def running_hub(root: Path, **options: Any) -> Iterator[Hub]:
    """A hub for the block; at its end the hub is stopped, its whole process tree has ended (else it fails, naming
    what was left) and no process of its users is left (``pgrep -u``)."""
    hub = Hub.start(root, **options)
    _running.append(hub)
    try:
        yield hub
    finally:
        users = hub.started | {_user_name(p.uid) for p in hub.tree()}
        _running.remove(hub)
        hub.stop()
        others = {p.pid for h in _running for p in h.tree()}  # another hub of this session may serve them too
        left = [p for user in sorted(users & set(USERS)) for p in user_processes(user) if p.pid not in others]
        assert not left, "processes of the hub's users outlived it:\n  " + describe(left)


_running: list[Hub] = []


# ---------------------------------------------------------------------------------------------- a kernel's code


def run_in_kernel(hub: Hub, user: str, token: str, code: str, timeout: float = 180) -> str:
    """Start a python3 kernel in ``user``'s server (its REST API, ``token``), run ``code`` over the kernel's
    WebSocket (Jupyter's messaging protocol), stop the kernel; returns the code's stdout. Errors raise."""
    import websocket  # websocket-client, a jupyter_server dependency

    headers = {"Authorization": f"token {token}"}
    base = hub.user_url(user)
    response = httpx.post(base + "api/kernels", headers=headers, json={"name": "python3"}, timeout=120)
    assert response.status_code == 201, response.text
    kernel_id = response.json()["id"]
    try:
        ws = websocket.create_connection(
            hub.ws_url(user, f"api/kernels/{kernel_id}/channels"), header=[f"Authorization: token {token}"],
            timeout=timeout,
        )  # fmt: skip
        try:
            msg_id = uuid.uuid4().hex
            ws.send(json.dumps({
                "header": {"msg_id": msg_id, "username": user, "session": uuid.uuid4().hex,
                           "msg_type": "execute_request", "version": "5.3",
                           "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())},
                "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
                "content": {"code": code, "silent": False, "store_history": False, "user_expressions": {},
                            "allow_stdin": False, "stop_on_error": True},
            }))  # fmt: skip
            out: list[str] = []
            deadline = time.monotonic() + timeout
            replied = idle = False
            while not (replied and idle):
                assert time.monotonic() < deadline, f"the kernel did not finish within {timeout:g} s; output {out}"
                msg = json.loads(ws.recv())
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    out.append(content["text"])
                elif kind == "error":
                    raise AssertionError("the kernel's code failed:\n" + "\n".join(content["traceback"]) + "".join(out))
                elif kind == "execute_reply":
                    replied = True
                elif kind == "status" and content["execution_state"] == "idle":
                    idle = True
            return "".join(out)
        finally:
            ws.close()
    finally:
        httpx.delete(base + f"api/kernels/{kernel_id}", headers=headers, timeout=60)
