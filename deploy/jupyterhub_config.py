# JupyterHub for a class on one machine: local unix users log in with their passwords (PAM), each student's
# Jupyter server runs as that student (the localprocess spawner), and so do the desktops it starts.
#
#   sudo .venv/bin/python scripts/hub_setup.py   # the users, configurable-http-proxy in .venv, the students' venv;
#                                                # prints the proxy's command ("proxy_command")
#   sudo JD_HUB_PROXY_COMMAND="<that command>" .venv/bin/jupyterhub -f deploy/jupyterhub_config.py
#   (or with `npm install -g configurable-http-proxy`, whose command is the default)
#
# Who may log in: members of the unix groups `students` and `teachers` (supplementary members, as
# `useradd --groups students` makes them). The hub has a group `students` (the same members); the role
# `teacher`, held by the hub group `teachers`, may list, start, stop and enter (access) every student's server,
# so a teacher opens /user/<student>/desktop/ and sees that student's desktops.
#
# The class page, /services/classroom/ (the service `classroom`, jupyter_desktop.classroom): every student's
# desktops live in one grid, view-only; a teacher (custom:desktops:control) may take one over. Students open it
# too and see their own, and the views classmates shared with them (view-only: a JupyterHub share of the scope
# custom:desktops:view, nothing else of the server).
#
# Everything listens on 127.0.0.1: put a TLS reverse proxy (nginx, caddy) in front for a real class.
# The settings below read JD_HUB_* variables so the same file serves tests/test_hub.py (free ports, a temporary
# state directory, short culling times); each default is the value for a real class.
#
# Limits: the localprocess spawner enforces no CPU or memory limit (JupyterHub's own help says so); on a
# shared machine use DockerSpawner (deploy/singleuser/) or cgroups. The per-server desktop limit in
# deploy/singleuser/jupyter_server_config.py is a courtesy limit: a student can run programs as themselves.

import grp
import os
import shlex
import sys

from jupyterhub.utils import random_port

c = get_config()  # noqa: F821 (traitlets provides it)

env = os.environ.get
HERE = os.path.dirname(os.path.abspath(__file__))

STATE_DIR = env("JD_HUB_STATE_DIR", "/srv/jupyterhub")  # database, cookie secret, pid files (root only)
USER_VENV = env("JD_HUB_USER_VENV", "/opt/jupyter-desktop-hub/venv")  # readable and runnable by the students
STUDENTS = env("JD_HUB_STUDENTS_GROUP", "students")
TEACHERS = env("JD_HUB_TEACHERS_GROUP", "teachers")
CULL_TIMEOUT = int(env("JD_HUB_CULL_TIMEOUT", "3600"))  # seconds a student's server may sit idle
CULL_EVERY = int(env("JD_HUB_CULL_EVERY", "300"))
ACTIVITY_INTERVAL = int(env("JD_HUB_ACTIVITY_INTERVAL", "300"))  # how often activity reaches the hub
# seconds without a person's input after which the desktop list page stops polling (each poll would count as
# the student's activity at the proxy, and keep a forgotten tab's server from the culler)
PAGES_IDLE_AFTER = env("JD_HUB_PAGES_IDLE_AFTER", "300")
# the class page: its address behind the proxy (a free port by default), the unix user it runs as, the Python that
# runs it (jupyter_desktop and jupyterhub installed, readable by that user), how often an open view's permission
# is checked again (a withdrawn share ends it)
CLASSROOM_URL = env("JD_HUB_CLASSROOM_URL") or f"http://127.0.0.1:{random_port()}"
CLASSROOM_USER = env("JD_HUB_CLASSROOM_USER", "nobody")
CLASSROOM_PYTHON = env("JD_HUB_CLASSROOM_PYTHON", f"{USER_VENV}/bin/python")
CLASSROOM_RECHECK = env("JD_HUB_CLASSROOM_RECHECK", "30")


os.makedirs(STATE_DIR, mode=0o700, exist_ok=True)


def unix_members(group):
    try:
        return sorted(grp.getgrnam(group).gr_mem)
    except KeyError:
        return []


# ---------------------------------------------------------------- network: loopback only
c.JupyterHub.bind_url = env("JD_HUB_PUBLIC_URL", "http://127.0.0.1:8000")  # the proxy: what browsers open
c.JupyterHub.hub_bind_url = env("JD_HUB_HUB_URL", "http://127.0.0.1:8081")
c.ConfigurableHTTPProxy.api_url = env("JD_HUB_PROXY_API_URL", "http://127.0.0.1:8001")
# configurable-http-proxy from npm; scripts/hub_setup.py installs it in .venv and prints the command
c.ConfigurableHTTPProxy.command = shlex.split(env("JD_HUB_PROXY_COMMAND", "configurable-http-proxy"))
c.Spawner.ip = "127.0.0.1"  # each student's server

c.JupyterHub.db_url = f"sqlite:///{STATE_DIR}/jupyterhub.sqlite"
c.JupyterHub.cookie_secret_file = f"{STATE_DIR}/jupyterhub_cookie_secret"
c.JupyterHub.pid_file = f"{STATE_DIR}/jupyterhub.pid"
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every student's server, and so their desktops
c.JupyterHub.last_activity_interval = ACTIVITY_INTERVAL

# ---------------------------------------------------------------- who logs in
c.JupyterHub.authenticator_class = "pam"  # the users' unix passwords
c.PAMAuthenticator.allowed_groups = {STUDENTS, TEACHERS}

c.JupyterHub.load_groups = {
    STUDENTS: {"users": unix_members(STUDENTS)},
    TEACHERS: {"users": unix_members(TEACHERS)},
}
c.JupyterHub.load_roles = [
    {
        "name": "teacher",
        "groups": [TEACHERS],
        "scopes": [
            "admin-ui",
            f"list:users!group={STUDENTS}",
            f"read:users!group={STUDENTS}",
            f"read:servers!group={STUDENTS}",
            f"admin:servers!group={STUDENTS}",  # start and stop
            f"access:servers!group={STUDENTS}",  # enter: pages, REST API, the desktops' WebSocket
            f"custom:desktops:control!group={STUDENTS}",  # the class page: watch and take over (view: watch only)
        ],
    },
    {
        # everyone in the class opens the class page; there each sees their own desktops (and may take them
        # over), and what others shared with them
        "name": "classroom-user",
        "groups": [STUDENTS, TEACHERS],
        "scopes": ["access:services!service=classroom", "custom:desktops:control!user"],
    },
    {
        # the class page itself: it finds the students' servers and reaches their desktops with its own token,
        # and makes the view-only shares a student asks it for (students hold no `shares` scope themselves: with
        # it they could share their whole server). access:servers is given per student, not by group: a
        # student's server does not resolve group filters (only the hub does).
        "name": "classroom",
        "services": ["classroom"],
        "scopes": [
            f"list:users!group={STUDENTS}",
            f"read:users:groups!group={STUDENTS}",
            f"read:servers!group={STUDENTS}",
            f"shares!group={STUDENTS}",
            f"custom:desktops:view!group={STUDENTS}",  # what it shares
            f"read:users:name!group={STUDENTS}",  # whom it shares with: classmates, teachers
            f"read:users:name!group={TEACHERS}",
            f"read:users:shares!group={STUDENTS}",  # the views shared with a viewer
            f"read:users:shares!group={TEACHERS}",
            *(f"access:servers!user={name}" for name in unix_members(STUDENTS)),
        ],
    },
    {
        "name": "idle-culler",
        "services": ["idle-culler"],
        "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
    },
]

# ---------------------------------------------------------------- each student's server
c.JupyterHub.spawner_class = "localprocess"
c.Spawner.cmd = [f"{USER_VENV}/bin/jupyterhub-singleuser"]
c.Spawner.default_url = "/lab"  # "/desktop/" for a class that lives in the desktop
c.Spawner.environment = {
    # not the hub's PATH: the students' venv, then the system (Xvnc, openbox, the desktop's apps)
    "PATH": f"{USER_VENV}/bin:/usr/local/bin:/usr/bin:/bin",
    # the desktop settings every student's server reads (allowed backends, limits)
    "JUPYTER_CONFIG_PATH": os.path.join(HERE, "singleuser"),
    "JUPYTERHUB_ACTIVITY_INTERVAL": str(ACTIVITY_INTERVAL),
    "JD_PAGES_IDLE_AFTER": PAGES_IDLE_AFTER,  # read by singleuser/jupyter_server_config.py
}
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 60

# ---------------------------------------------------------------- culling idle servers
# jupyterhub-idle-culler (PyPI) in the hub's environment stops a server idle for CULL_TIMEOUT seconds; its
# desktops stop with it. Activity is what the proxy sees and what the server reports (API calls, kernels,
# a desktop in use).
c.JupyterHub.custom_scopes = {
    "custom:desktops:view": {"description": "Watch desktops in the class page, view-only."},
    "custom:desktops:control": {
        "description": "Watch desktops in the class page and take them over (keys, pointer, clipboard).",
        "subscopes": ["custom:desktops:view"],
    },
}

c.JupyterHub.services = [
    {
        "name": "classroom",
        "url": CLASSROOM_URL,
        "command": [CLASSROOM_PYTHON, "-m", "jupyter_desktop.classroom"],
        "user": CLASSROOM_USER,  # not root
        "cwd": "/",
        "oauth_no_confirm": True,  # part of the hub's own setup: no "Authorize" page
        # what a viewer's token for the page may carry: the hub narrows it to what the viewer holds
        "oauth_client_allowed_scopes": ["custom:desktops:view", "custom:desktops:control"],
        "environment": {
            # the students' servers are reached through the proxy, as a browser reaches them
            "JD_CLASSROOM_PROXY_URL": c.JupyterHub.bind_url.replace("://0.0.0.0:", "://127.0.0.1:"),
            "JD_CLASSROOM_IDLE_AFTER": PAGES_IDLE_AFTER,
            "JD_CLASSROOM_RECHECK": CLASSROOM_RECHECK,
        },
    },
    {
        "name": "idle-culler",
        "command": [
            sys.executable,  # the hub's python, where jupyterhub-idle-culler is installed
            "-m",
            "jupyterhub_idle_culler",
            f"--timeout={CULL_TIMEOUT}",
            f"--cull-every={CULL_EVERY}",
        ],
    }
]
