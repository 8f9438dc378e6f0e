# The desktop settings of every student's Jupyter server (deploy/jupyterhub_config.py points the servers'
# JUPYTER_CONFIG_PATH here; the image of deploy/singleuser/Dockerfile has it in /etc/jupyter/). A student's own
# ~/.jupyter config takes precedence and can change it: these are a course's defaults and a courtesy limit, not a
# security boundary (a student runs programs as themselves; the Docker image's container limits do hold).

import os

c = get_config()  # noqa: F821 (traitlets provides it)

c.DesktopExtension.allowed_backends = ["local"]  # desktops run as the student, beside their server
c.DesktopExtension.max_desktops = 2  # per student
# "xfce" for a full desktop, at ~0.3 s more start and more memory (z2jh's XFCE profile sets JD_DEFAULT_PROFILE)
c.DesktopExtension.default_profile = os.environ.get("JD_DEFAULT_PROFILE", "openbox")
c.DesktopExtension.idle_timeout = 3600  # a desktop nobody used for an hour stops
# a list page nobody touches stops polling (JupyterHub's proxy counts each request as the student's activity)
c.DesktopExtension.pages_idle_after = float(os.environ.get("JD_PAGES_IDLE_AFTER", "300"))
