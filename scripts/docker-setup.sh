#!/usr/bin/env bash
# Make this machine ready for the Docker backend and its tests. Idempotent; run as root or with sudo.
#
#   1. installs Debian's docker.io and debootstrap when missing
#   2. starts dockerd in the background when `docker info` fails (log: $DOCKERD_LOG), waits until it answers
#   3. makes debian:bookworm-slim with debootstrap + docker import when it is missing (no registry is
#      reachable here, so it is never pulled)
#   4. builds the desktop image as jupyter-desktop:<hash of jupyter_desktop/images/desktop> (plus :latest)
#      when no image has that tag yet, so a changed Dockerfile always means a new build
#
# Exits non-zero, saying why, when any step fails.
set -euo pipefail
cd "$(dirname "$0")/.."

IMAGE_DIR=jupyter_desktop/images/desktop
BASE_IMAGE=debian:bookworm-slim
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
DOCKERD_LOG="${DOCKERD_LOG:-/var/log/jupyter-desktop-dockerd.log}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

say() { echo "docker-setup: $*"; }
die() { echo "docker-setup: $*" >&2; exit 1; }

# The tag the backend looks for: the same hash as jupyter_desktop.images.image_hash().
image_hash() {
  (cd "$IMAGE_DIR" && find . -type f ! -name '*.pyc' ! -path '*/__pycache__/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) \
    | sha256sum | cut -c1-12
}
if [ "${1:-}" = "--print-tag" ]; then echo "jupyter-desktop:$(image_hash)"; exit 0; fi

# 1. packages
missing=()
for pkg in docker.io debootstrap; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# 2. the engine (docker as the user if the socket lets us, else through sudo)
DOCKER=(docker)
docker_ok() { "${DOCKER[@]}" info >/dev/null 2>&1; }
if ! docker_ok && [ -n "$SUDO" ]; then DOCKER=(sudo docker); fi
if ! docker_ok; then
  if [ -d /run/systemd/system ] && $SUDO systemctl start docker 2>/dev/null; then
    say "started docker.service"
  else
    say "starting dockerd in the background (log: $DOCKERD_LOG)"
    $SUDO sh -c "setsid dockerd >>'$DOCKERD_LOG' 2>&1 < /dev/null &"
  fi
  for _ in $(seq 60); do
    docker_ok && break
    sleep 1
  done
  docker_ok || die "dockerd did not answer within 60 s; its log ends:
$($SUDO tail -n 20 "$DOCKERD_LOG" 2>/dev/null)"
fi
say "engine: $("${DOCKER[@]}" version --format 'Docker {{.Server.Version}}')"

# 3. the base image
if ! "${DOCKER[@]}" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
  root="$(mktemp -d /var/tmp/jupyter-desktop-rootfs.XXXXXX)"
  trap '$SUDO rm -rf "$root"' EXIT
  say "making $BASE_IMAGE with debootstrap from $MIRROR (a few minutes)"
  $SUDO debootstrap --variant=minbase bookworm "$root" "$MIRROR" >"$root.log" 2>&1 \
    || die "debootstrap failed; its log ends:
$(tail -n 20 "$root.log")"
  rm -f "$root.log"
  # Like Docker's official slim image: the same apt sources, no docs, man pages or locales, no caches.
  $SUDO sh -c "
    rm -f '$root/etc/apt/sources.list'
    printf 'Types: deb\nURIs: $MIRROR\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n\nTypes: deb\nURIs: ${MIRROR%/debian}/debian-security\nSuites: bookworm-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > '$root/etc/apt/sources.list.d/debian.sources'
    printf 'path-exclude /usr/share/doc/*\npath-include /usr/share/doc/*/copyright\npath-exclude /usr/share/man/*\npath-exclude /usr/share/groff/*\npath-exclude /usr/share/info/*\npath-exclude /usr/share/lintian/*\npath-exclude /usr/share/locale/*\npath-include /usr/share/locale/locale.alias\n' > '$root/etc/dpkg/dpkg.cfg.d/docker'
    rm -rf '$root'/var/cache/apt/archives/*.deb '$root'/var/lib/apt/lists/* '$root'/usr/share/doc/* '$root'/usr/share/man/* '$root'/usr/share/info/*
  "
  $SUDO tar -C "$root" -c . | "${DOCKER[@]}" import -c 'CMD ["bash"]' - "$BASE_IMAGE" >/dev/null
  $SUDO rm -rf "$root"
  trap - EXIT
  say "imported $BASE_IMAGE"
fi

# 4. the desktop image
TAG="jupyter-desktop:$(image_hash)"
if "${DOCKER[@]}" image inspect "$TAG" >/dev/null 2>&1; then
  say "$TAG is built"
else
  build_log="$(mktemp /tmp/jupyter-desktop-build.XXXXXX.log)"
  say "building $TAG (the first build downloads Debian packages: several minutes; log: $build_log)"
  # The legacy builder, as the Python SDK (jupyter desktop image build) uses: no buildx needed.
  # Only the step lines are shown; the whole log when the build fails.
  if ! DOCKER_BUILDKIT=0 "${DOCKER[@]}" build --label "jupyter-desktop.image-hash=${TAG#*:}" \
      -t "$TAG" -t jupyter-desktop:latest "$IMAGE_DIR" 2>&1 | tee "$build_log" | grep --line-buffered '^Step '; then
    tail -n 40 "$build_log" >&2
    die "building $TAG failed (whole log: $build_log)"
  fi
  rm -f "$build_log"
fi
"${DOCKER[@]}" tag "$TAG" jupyter-desktop:latest
say "ready: $TAG ($("${DOCKER[@]}" image inspect "$TAG" --format '{{.Size}}' | awk '{printf "%.0f MB", $1 / 1e6}'))"
