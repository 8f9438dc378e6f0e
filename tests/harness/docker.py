"""The Docker engine and this version's desktop image, for the tests that need them."""

from __future__ import annotations

import functools

from jupyter_desktop.images import image_tag


@functools.cache
def engine_problem() -> str | None:
    """Why the Docker tests cannot run here (no SDK, no engine, no image), or None. Asked once a session."""
    try:
        import docker
    except ImportError:
        return "the docker SDK is not installed (pip install -e '.[test]')"
    try:
        client = docker.from_env(timeout=15)
        client.ping()
    except Exception as exc:
        return f"no Docker engine answers ({exc}); run: sudo scripts/docker-setup.sh"
    try:
        client.images.get(image_tag())
    except docker.errors.ImageNotFound:
        return f"the desktop image {image_tag()} is not built; run: sudo scripts/docker-setup.sh"
    finally:
        client.close()
    return None
