"""The desktop image this package ships (``images/desktop``: Dockerfile, start script) and its tag.

The tag is ``jupyter-desktop:<hash of the folder>``: a changed Dockerfile means a new tag, so the Docker
backend never starts an image built from another version of it without saying so.
``scripts/docker-setup.sh`` computes the same hash in shell.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

__all__ = ["IMAGE_DIR", "REPOSITORY", "image_hash", "image_tag"]

IMAGE_DIR = Path(__file__).parent / "desktop"
REPOSITORY = "jupyter-desktop"


def image_hash(folder: Path = IMAGE_DIR) -> str:
    """12 hex digits: sha256 of ``sha256sum`` lines of the folder's files, sorted by path (as the script does)."""
    files = [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    names = sorted(("./" + p.relative_to(folder).as_posix() for p in files), key=lambda n: n.encode())
    lines = "".join(f"{hashlib.sha256((folder / n).read_bytes()).hexdigest()}  {n}\n" for n in names)
    return hashlib.sha256(lines.encode()).hexdigest()[:12]


def image_tag() -> str:
    """The tag the Docker backend uses by default: the image built from this version of the Dockerfile."""
    return f"{REPOSITORY}:{image_hash()}"
