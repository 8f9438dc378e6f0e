"""The tests' harness: what starts and drives the real parts, shared by the test modules and the benchmarks.

No test module imports another; they take what they share from here (or, for the desktop helpers and the
fixtures, from tests/conftest.py), and benchmarks/ import only this package and jupyter_desktop.

- ``waiting``: ``eventually``, the one way to wait for something.
- ``processes``: ``marked`` (a desktop's live processes), ``cmdline``.
- ``server``: ``JupyterServer``, a `jupyter server` / JupyterLab / Notebook 7 as its own process; ``free_port``,
  ``TOKEN``, ``extension_routes``.
- ``browser``: Chromium through Playwright (``chromium``, ``open_context``), ``browser_server`` (a server as the
  browser tests run it), ``skip_without_chromium``.
- ``lab_notebook``: a notebook driven in a real JupyterLab page, and the notebook widget in it.
- ``widget``: ``FakeFrontEnd``, the widget's front end over the comm, in Python.
- ``rfb``: a raw RFB viewer on a WebSocket (``rfb_frame``, ``WSReader``, ``ws_open``, ``ws_status``).
- ``hub``: a real JupyterHub with real unix users.
- ``docker``: ``engine_problem``, why the Docker tests cannot run here (or None).
- ``timing``: ``timed``, ``stats``, ``row``: the benchmarks' medians and 95th percentiles.
"""
