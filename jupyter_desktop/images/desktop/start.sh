#!/bin/sh
# The desktop container's main program (under tini): TigerVNC's Xvnc on a unix socket, a private D-Bus,
# the session. The container lives as long as Xvnc does.
#
#   start.sh openbox | xfce | none | -- COMMAND [ARGS...]
#
# The RFB socket is /run/jupyter-desktop/rfb.sock, a folder the host bind-mounts from a private 0700
# directory: no TCP listener (Xvnc -rfbport -1, X -nolisten tcp). When the window manager runs its event
# loop the script creates /run/jupyter-desktop/ready, which the host waits for. The session bus
# (/run/jupyter-desktop/bus) and XDG_RUNTIME_DIR (/run/jupyter-desktop/runtime, where the accessibility
# bus goes: runtime/at-spi/bus_1) are in that folder too, so the host reaches them.
#
# Environment: JD_GEOMETRY (1280x800), JD_DEPTH (24), JD_DPI (96), JD_NAME, JD_OPENGL (0: no GLX, which
# saves Mesa's ~50 MiB in Xvnc; 1: GLX with Mesa's software renderer). Started as root (only when the
# host asks for another uid), it gives the user "desktop" DESKTOP_UID:DESKTOP_GID, so the host user owns
# the socket and files written to the work folder, then drops to that user for good.
set -u

RUN_DIR=/run/jupyter-desktop
log() { echo "jupyter-desktop: $*" >&2; }

# A container that was stopped and started again keeps /tmp: stale X locks would stop Xvnc.
rm -f /tmp/.X*-lock /tmp/.X11-unix/X* 2>/dev/null

if [ "$(id -u)" = 0 ]; then
    uid="${DESKTOP_UID:-1000}"
    gid="${DESKTOP_GID:-$uid}"
    if [ "$uid" = 0 ] || [ "$gid" = 0 ]; then
        log "refusing to run the desktop as root (DESKTOP_UID=$uid DESKTOP_GID=$gid)"
        exit 2
    fi
    [ "$(id -g desktop)" = "$gid" ] || groupmod -o -g "$gid" desktop || exit 2
    [ "$(id -u desktop)" = "$uid" ] || usermod -o -u "$uid" desktop || exit 2
    chown -R desktop:desktop /home/desktop 2>/dev/null
    exec setpriv --reuid=desktop --regid=desktop --init-groups --inh-caps=-all --bounding-set=-all -- "$0" "$@"
fi

export HOME=/home/desktop USER=desktop LOGNAME=desktop
WM_STARTED=/tmp/.jupyter-desktop-wm-started
rm -rf "$RUN_DIR/rfb.sock" "$RUN_DIR/ready" "$RUN_DIR/bus" "$RUN_DIR/runtime" "$WM_STARTED"
mkdir -p -m 0700 "$XDG_RUNTIME_DIR"

glx="-extension GLX"
[ "${JD_OPENGL:-0}" = 1 ] && glx=""

dbus-daemon --session --nofork --nopidfile --address="$DBUS_SESSION_BUS_ADDRESS" &

Xvnc "$DISPLAY" \
    -nolisten tcp -rfbport -1 \
    -rfbunixpath "$RUN_DIR/rfb.sock" -rfbunixmode 0600 \
    -SecurityTypes None -UseBlacklist 0 -AlwaysShared -AcceptSetDesktopSize \
    -geometry "${JD_GEOMETRY:-1280x800}" -depth "${JD_DEPTH:-24}" -dpi "${JD_DPI:-96}" \
    -desktop "${JD_NAME:-jupyter-desktop}" -s 0 $glx &
xvnc=$!

# Wait (at most 30 s) until something holds: $1 is a shell test.
wait_for() {
    i=0
    while ! eval "$1"; do
        kill -0 "$xvnc" 2>/dev/null || { wait "$xvnc"; status=$?; log "Xvnc exited with status $status"; exit "$status"; }
        i=$((i + 1))
        [ "$i" -lt 3000 ] || { log "gave up waiting for: $1"; exit 1; }
        sleep 0.01
    done
}

wait_for '[ -S "/tmp/.X11-unix/X${DISPLAY#:}" ] && xprop -root -len 0 WM_NAME >/dev/null 2>&1'
bus="${DBUS_SESSION_BUS_ADDRESS#unix:path=}"
wait_for '[ -S "$bus" ]'
[ "${JD_DPI:-96}" = 96 ] || echo "Xft.dpi: $JD_DPI" | xrdb -merge

profile="${1:-openbox}"
[ "$#" -gt 0 ] && shift
case "$profile" in
    # --startup runs its command right before openbox enters its event loop. _NET_SUPPORTING_WM_CHECK is set
    # long before (then come the config, the theme, fonts), and an X event that reaches openbox in between is
    # read into Xlib's queue and then left there until the next one arrives: an app's ConfigureRequest then
    # goes unanswered, and xterm (any Xt app) waits 5 s (wmTimeout) before it maps its window.
    # One virtual desktop: the wheel on the desktop would switch among four and hide every window.
    openbox) openbox --sm-disable --startup "sh -c 'wmctrl -n 1 >/dev/null 2>&1; exec touch $WM_STARTED'" & ;;
    xfce) XDG_CURRENT_DESKTOP=XFCE xfce4-session & ;;
    none) ;;
    --) "$@" & ;;
    *) log "unknown profile $profile (use openbox, xfce, none or -- COMMAND)"; exit 2 ;;
esac
case "$profile" in
    openbox) wait_for '[ -e "$WM_STARTED" ]' ;;
    xfce) wait_for 'xprop -root _NET_SUPPORTING_WM_CHECK 2>/dev/null | grep -q "window id"' ;;
esac
# openbox is up: in the middle of the light desktop, how to open its menu (first_look.py)
[ "$profile" = openbox ] && python3 -I -S /usr/local/lib/jupyter-desktop/first_look.py
touch "$RUN_DIR/ready"
log "ready on $DISPLAY (profile $profile)"

wait "$xvnc"
status=$?
log "Xvnc exited with status $status"
exit "$status"
