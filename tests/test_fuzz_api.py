"""The whole REST API fuzzed from ``server/openapi.yaml`` with schemathesis, against a real `jupyter server`
process driving a real desktop.

Per operation, schemathesis generates requests that fit the document (positive) and requests that break it
(negative). Checks: no 5xx; every status, content type, header and body as the document declares them; every
request that breaks the document refused with a 4xx. Afterwards the server still answers and, once stopped,
leaves no desktop process behind.

What the test changes in generated requests, so that fuzzing stays fast and harmless, and only in requests
that fit the document (a request that breaks it is sent as generated):
- commands run ``printf`` with the generated text as arguments (never a generated program: the server runs
  as this machine's user); ``open`` gets a path that does not exist;
- pauses (waits, holds, drag durations, typing delays, stable/wait timeouts) are cut to a few hundredths of
  a second: the limits themselves are tested in test_server.py and test_keys_actions.py;
- a file's path (GET, PUT, DELETE .../files) is put in a folder of the test's own, in requests that break the
  document too (unless the path is what breaks it: missing, empty, too long): the server's local desktop runs as this
  machine's user, and a generated DELETE ?recursive=1 must never reach a folder of anyone's;
- resize stays under 1024x1024; the desktop's id is the real one, except for DELETE (a random id, so that
  the desktop lives on) and for a random tenth of the other requests (unknown desktops: 404).
The server allows only the profile "none" (`allowed_profiles`), so generated session commands are refused.
"""

from __future__ import annotations

import math
import random
import shlex
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from jupyter_desktop.server.handlers import OPENAPI

from .conftest import marked
from .harness.server import JupyterServer, extension_routes

SCHEMA = schemathesis.openapi.from_path(OPENAPI)
OPERATIONS = [
    op for op in (result.ok() for result in SCHEMA.get_all_operations()) if not op.path.endswith("/vnc")
]  # the WebSocket route answers only upgrades: tests/test_server.py
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 40  # per operation and mode
_RANDOM = random.Random(8)
SERVER_CONFIG = """
c.DesktopExtension.allowed_profiles = ["none"]
c.DesktopExtension.default_profile = "none"
c.DesktopExtension.allowed_backends = ["local"]
c.DesktopExtension.max_desktops = 3
"""


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """A jupyter server with our extension, configured by a jupyter_server_config.py of its own."""
    server = JupyterServer(tmp_path_factory.mktemp("fuzz"), config=SERVER_CONFIG)
    created = server.api("POST", json={"width": 800, "height": 600})
    assert created.status_code == 201, created.text
    server.desktop_id = created.json()["id"]
    server.sandbox = tmp_path_factory.mktemp("fuzzed-files")
    yield server
    ids = [d["id"] for d in server.api("GET").json()] if server.process.poll() is None else []
    server.stop()
    assert ids, "the fuzzed server no longer listed its desktop"
    leftovers = {i: marked(i) for i in ids if marked(i)}
    assert not leftovers, f"desktop processes outlived the server: {leftovers}"


def _short(value, cap: float, low: float = 0.0):
    """A pause that fits the document, cut down to ``cap`` (values that break it are left alone)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and low <= value:
        return min(value, cap) if isinstance(value, float) or value <= cap else cap
    return value


def harmless(case, desktop_id: str, sandbox: Path) -> None:
    """Make a generated request that fits the document fast and safe to send (see the module's docstring)."""
    path, method = case.operation.path, case.method.upper()
    if path.endswith("/files") and case.query and isinstance(case.query.get("path"), str) and 0 < len(case.query["path"]) <= 4096:
        # one name in the sandbox ("f-": never . or ..), whatever the generated path was
        case.query["path"] = str(sandbox / ("f-" + case.query["path"].replace("/", "_")[:100]))
    if "id" in (case.path_parameters or {}):
        if method == "DELETE" and path == "/desktop/api/desktops/{id}":
            case.path_parameters["id"] = f"gone-{case.path_parameters['id']}"
        elif _RANDOM.random() > 0.1:
            case.path_parameters["id"] = desktop_id
    if case.meta is not None and case.meta.generation.mode is GenerationMode.NEGATIVE:
        return
    body = case.body if isinstance(case.body, dict) else None
    if path.endswith("/actions") and body and isinstance(body.get("actions"), list):
        for action in body["actions"]:
            if isinstance(action, dict):
                for name, cap in (("seconds", 0.02), ("hold", 0.02), ("duration", 0.02), ("delay", 0.0)):
                    if name in action:
                        action[name] = _short(action[name], cap)
    if path.endswith("/stable") and body:
        for name, cap in (("quiet", 0.05), ("timeout", 0.2)):
            if name in body:
                body[name] = _short(body[name], cap)
    if (path.endswith("/exec") or path.endswith("/processes")) and body:
        command = body.get("command")
        if isinstance(command, str) and command:
            body["command"] = "printf %s " + shlex.quote(command) if path.endswith("/exec") else ["printf", "%s", command]
        elif isinstance(command, list) and command:
            body["command"] = ["printf", "%s", *command]
        timeout = body.get("timeout")
        if isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and math.isfinite(timeout) and timeout > 0:
            # long enough for printf (4.9e-324 s fits the document and times the command out: a 504, as documented,
            # which the generic no-5xx check cannot tell from a failure), short enough for the run
            body["timeout"] = min(max(timeout, 5.0), 10.0)
        if isinstance(body.get("open"), str):
            body["open"] = "/nonexistent/" + body["open"].replace("/", "_")
    if path.endswith("/wait") and case.query and "timeout" in case.query:
        case.query["timeout"] = _short(case.query["timeout"], 0.05)
    if path.endswith("/recording") and method == "POST" and body:
        # short settles, a coarse video and few periodic screenshots: a recording costs little while the rest is fuzzed
        if isinstance(body.get("settle"), (int, float)):
            body["settle"] = _short(body["settle"], 0.2)
        if isinstance(body.get("every"), (int, float)) and not isinstance(body["every"], bool):
            body["every"] = max(body["every"], 1.0)
        if isinstance(body.get("fps"), (int, float)) and not isinstance(body["fps"], bool):
            body["fps"] = min(body["fps"], 2.0)
    if path.endswith("/size") and method == "PUT" and body:
        for name in ("width", "height"):
            if isinstance(body.get(name), int) and 64 <= body[name] <= 8192:
                body[name] = 64 + body[name] % 960


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: f"{op.method.upper()} {op.path}")
def test_fuzz(api, operation, mode):
    checks = CHECKS + ([negative_data_rejection] if mode is GenerationMode.NEGATIVE else [])
    session = httpx.Client(base_url=api.url.rstrip("/"), headers=api.auth, timeout=60)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
        suppress_health_check=list(HealthCheck),
    )  # fmt: skip
    def fuzz(case):
        harmless(case, api.desktop_id, api.sandbox)
        response = case.call(base_url=api.url.rstrip("/"), headers=api.auth, timeout=60)
        # 413 is a refusal too (a limit passed, named in the message: 1001 points in a drag whose maxItems is 1000),
        # which schemathesis's list of rejection statuses lacks; every other check still applies to it
        refused = response.status_code == 413
        case.validate_response(
            response, checks=[c for c in checks if not (refused and c is negative_data_rejection)], headers=api.auth
        )

    try:
        fuzz()
        # still healthy: the server answers, and the desktop still runs unless this operation stops it
        listing = session.get("/desktop/api/desktops")
        assert listing.status_code == 200
        assert api.desktop_id in [d["id"] for d in listing.json()]
        assert session.get(f"/desktop/api/desktops/{api.desktop_id}").json()["status"] == "running"
    finally:
        session.close()


def test_the_document_covers_every_route():
    """Every REST route the extension serves is in the document (the fuzz test cannot reach what it lacks)."""
    documented = {op.path for op in (r.ok() for r in SCHEMA.get_all_operations())}
    served = set()
    for pattern, _handler in extension_routes():
        if not pattern.startswith("desktop/api/"):
            continue  # pages: tests/test_server.py and the browser tests
        path = "/" + pattern
        for name, placeholder in (("desktop_id", "{id}"), ("pid", "{pid}"), ("window_id", "{window}"), ("command", "{command}"), ("op", "{op}"), ("name", "{name}")):
            path = path.replace(f"(?P<{name}>[^/]+)", placeholder)
        path = path.replace("(?P<path>.+)", "{path}")
        served.add(path)
    assert served == documented, (served - documented, documented - served)
    assert Path(OPENAPI).is_file()
