"""``jupyter desktop ...`` (the console script ``jupyter-desktop``).

jupyter desktop image build [--tag T] [--no-cache]   build the desktop image, showing Docker's log
jupyter desktop image tag                            print the tag the Docker backend uses
jupyter desktop mcp [--desktop ID] [--profile P ...]  serve one desktop as an MCP server over stdio
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from .images import IMAGE_DIR, REPOSITORY, image_hash, image_tag

__all__ = ["main"]


def _build(tag: str | None, no_cache: bool) -> int:
    from .backends.docker import _docker_sdk, _no_engine

    docker = _docker_sdk()
    default = image_tag()
    tags = [tag] if tag else [default, f"{REPOSITORY}:latest"]
    print(f"building {tags[0]} from {IMAGE_DIR}", flush=True)
    try:
        # Builds run for minutes: a long timeout for each read of the log, not for the whole build.
        api = docker.from_env(timeout=1800).api  # honours DOCKER_HOST, as the backend does
        api.ping()
    except docker.errors.DockerException as exc:
        print(f"error: {_no_engine(exc)}", file=sys.stderr)
        return 1
    try:
        for event in api.build(
            path=str(IMAGE_DIR),
            tag=tags[0],
            rm=True,
            forcerm=True,
            nocache=no_cache,
            labels={"jupyter-desktop.image-hash": image_hash()},
            decode=True,
        ):
            if "stream" in event:
                sys.stdout.write(event["stream"])
                sys.stdout.flush()
            elif "status" in event:
                print(event["status"], event.get("progress", ""), flush=True)
            elif "error" in event:
                print(f"error: {event['error'].strip()}", file=sys.stderr)
                if "debian:bookworm-slim" in event["error"]:
                    print(
                        "(no registry reachable? scripts/docker-setup.sh makes the base image with debootstrap)",
                        file=sys.stderr,
                    )
                return 1
        for extra in tags[1:]:
            repository, _, name = extra.rpartition(":")
            api.tag(tags[0], repository, name)
    except docker.errors.DockerException as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        api.close()
    print(
        f"built {', '.join(tags)}" + ("" if tag is None or tag == default else f" (the backend's default is {default})")
    )
    return 0


def _size(text: str) -> tuple[int, int]:
    width, sep, height = text.partition("x")
    if not (sep and width.isdigit() and height.isdigit() and 0 < int(width) <= 8192 and 0 < int(height) <= 8192):
        raise argparse.ArgumentTypeError(f"a size is WIDTHxHEIGHT, e.g. 1024x640, not {text!r}")
    return int(width), int(height)


def _mcp(args: argparse.Namespace) -> int:
    """Serve one desktop over stdio until the client goes; a desktop started here is stopped then."""
    try:
        from .agents.mcp import OneDesktop, build_server
    except ImportError as exc:
        print(f"error: the MCP server needs the mcp package ({exc}): pip install 'jupyter_desktop[mcp]'", file=sys.stderr)
        return 1
    from ._loop import loop_thread
    from .desktop import Desktop, find_hub
    from .errors import DesktopError

    # On this (main) thread: with no Jupyter server to hold the desktop, this process's manager installs its
    # SIGTERM handler here, so a client that kills us still stops the desktop.
    find_hub(loop_thread())
    if args.desktop:
        try:
            desktops = OneDesktop(Desktop.attach(args.desktop))
        except DesktopError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
    else:
        options = {k: v for k, v in (("width", args.width), ("height", args.height), ("backend", args.backend)) if v}
        desktops = OneDesktop(lambda: Desktop(args.profile, **options))
    server = build_server(desktops, max_long_edge=args.max_long_edge or None, max_pixels=args.max_pixels or None,
                          size=args.size)  # fmt: skip
    try:
        server.run("stdio")
    except KeyboardInterrupt:
        pass
    finally:
        desktops.close()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="jupyter desktop", description="Desktops in Jupyter: tools.")
    commands = parser.add_subparsers(dest="command", required=True)
    image = commands.add_parser("image", help="the Docker backend's desktop image").add_subparsers(
        dest="action", required=True
    )
    build = image.add_parser("build", help="build the desktop image (Docker's log is shown as it goes)")
    build.add_argument("--tag", help=f"image tag (default: {REPOSITORY}:<hash of the Dockerfile folder>, plus :latest)")
    build.add_argument("--no-cache", action="store_true", help="rebuild every step")
    image.add_parser("tag", help="print the tag the Docker backend starts by default")
    mcp = commands.add_parser(
        "mcp",
        help="serve a desktop as an MCP server over stdio",
        description="Serve one desktop to an MCP client over stdio: screenshots, mouse and keyboard, programs, "
        "windows. Without --desktop a desktop starts on the first tool call and stops when the client goes "
        "(under a Jupyter server with this extension, a desktop of that server). Needs pip install "
        "'jupyter_desktop[mcp]'.",
    )
    which = mcp.add_mutually_exclusive_group()
    which.add_argument("--desktop", metavar="ID", help="serve this running desktop (it keeps running afterwards)")
    which.add_argument("--new", action="store_true", help="start a desktop on first use (the default)")
    mcp.add_argument("--profile", default="openbox", help="profile of a new desktop: openbox, xfce, none (default openbox)")
    mcp.add_argument("--width", type=int, help="screen width of a new desktop (default 1280)")
    mcp.add_argument("--height", type=int, help="screen height of a new desktop (default 800)")
    mcp.add_argument("--backend", help="backend of a new desktop: local or docker")
    mcp.add_argument("--max-long-edge", type=int, default=1568, metavar="N",
                     help="the model's image limit: screenshots at most N pixels on their long edge (default 1568; 0: none)")
    mcp.add_argument("--max-pixels", type=int, default=1_150_000, metavar="N",
                     help="the model's image limit: screenshots at most N pixels in all (default 1150000; 0: none)")
    mcp.add_argument("--size", type=_size, metavar="WxH", help="screenshots of exactly this size instead")
    args = parser.parse_args(argv)
    if args.command == "mcp":
        return _mcp(args)
    if args.action == "build":
        return _build(args.tag, args.no_cache)
    print(image_tag())
    return 0


if __name__ == "__main__":
    sys.exit(main())
