"""``python -m jupyter_desktop.classroom``: the class page as a JupyterHub managed service."""

from .app import main

main()
