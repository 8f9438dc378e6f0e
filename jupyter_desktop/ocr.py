"""Text on the screen, read by tesseract (Debian's tesseract-ocr): what ``Desktop.wait_for_text`` falls back to when
the accessibility tree does not have the text (a terminal's output, a canvas, an app without accessibility)."""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from PIL import Image

from .errors import MissingDependencyError

__all__ = ["Words", "read", "find"]

UPSCALE = 2  # screen fonts are small for tesseract: it reads a 2x image much better
TIMEOUT = 60.0  # seconds tesseract may take for one screen


@dataclass(frozen=True)
class Word:
    text: str
    box: tuple[int, int, int, int]  # x, y, width, height in the image's pixels
    line: tuple[int, int, int]  # block, paragraph, line: words of one line share it


@dataclass(frozen=True)
class Words:
    """The words tesseract read, in reading order, with their boxes."""

    words: tuple[Word, ...]

    @property
    def text(self) -> str:
        lines: dict[tuple[int, int, int], list[str]] = {}
        for word in self.words:
            lines.setdefault(word.line, []).append(word.text)
        return "\n".join(" ".join(parts) for parts in lines.values())


def _tesseract() -> str:
    program = shutil.which("tesseract")
    if program is None:
        raise MissingDependencyError("reading text on the screen needs tesseract: sudo apt-get install tesseract-ocr")
    return program


def read(image: Image.Image) -> Words:
    """The words on ``image`` with their boxes (in ``image``'s pixels)."""
    program = _tesseract()
    with tempfile.TemporaryDirectory(prefix="jupyter-desktop-ocr-") as tmp:
        path = Path(tmp) / "screen.png"
        image.convert("L").resize((image.width * UPSCALE, image.height * UPSCALE), Image.Resampling.LANCZOS).save(path)
        result = subprocess.run([program, str(path), "stdout", "tsv"], capture_output=True, text=True, timeout=TIMEOUT)
    if result.returncode != 0:
        raise MissingDependencyError(f"tesseract failed: {result.stderr.strip()[-500:]} (is tesseract-ocr-eng installed?)")
    words = []
    for row in result.stdout.splitlines()[1:]:
        cells = row.split("\t")
        if len(cells) < 12 or cells[0] != "5" or not cells[11].strip():
            continue
        left, top, width, height = (int(v) // UPSCALE for v in cells[6:10])
        words.append(Word(cells[11].strip(), (left, top, width, height), (int(cells[2]), int(cells[3]), int(cells[4]))))
    return Words(tuple(words))


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().lower()


def find(words: Words, phrase: str) -> tuple[int, int, int, int] | None:
    """The box around the first run of words (on one line) that reads ``phrase`` (any case, spaces as they come), or
    None."""
    wanted = _norm(phrase)
    if not wanted:
        return None
    items = list(words.words)
    for i, first in enumerate(items):
        joined = ""
        for j in range(i, len(items)):
            if items[j].line != first.line:
                break
            joined = _norm(f"{joined} {items[j].text}")
            if wanted in joined:
                boxes = [w.box for w in items[i : j + 1]]
                x0, y0 = min(b[0] for b in boxes), min(b[1] for b in boxes)
                x1, y1 = max(b[0] + b[2] for b in boxes), max(b[1] + b[3] for b in boxes)
                return x0, y0, x1 - x0, y1 - y0
            if len(joined) > len(wanted) + 40:
                break
    return None
