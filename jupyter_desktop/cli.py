"""``jupyter desktop ...`` (the console script ``jupyter-desktop``).

jupyter desktop image build [--tag T] [--no-cache]   build the desktop image, showing Docker's log
jupyter desktop image tag                            print the tag the Docker backend uses
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
    args = parser.parse_args(argv)
    if args.action == "build":
        return _build(args.tag, args.no_cache)
    print(image_tag())
    return 0


if __name__ == "__main__":
    sys.exit(main())
