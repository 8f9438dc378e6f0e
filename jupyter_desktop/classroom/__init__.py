"""The class page: every student's desktop live in one grid, as a JupyterHub service.

``python -m jupyter_desktop.classroom`` runs it as a managed service of the hub (deploy/jupyterhub_config.py
registers it as ``classroom``, at ``/services/classroom/``). It needs JupyterHub's Python package (the hub's
environment has it): ``app.py`` has the routes, ``permissions.py`` the scopes, ``rfb_filter.py`` the view-only
filter.
"""

from .permissions import CONTROL, VIEW, Grants, share_scope

__all__ = ["CONTROL", "VIEW", "Grants", "share_scope"]
