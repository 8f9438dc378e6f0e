"""Checks of a recording's files: its video as ffprobe reads it, and the processes still writing into its folder."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path


def probe(video: Path) -> dict:
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_entries",
         "stream=codec_name,width,height,nb_read_frames,pix_fmt:format=duration", "-of", "json", str(video)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    return {**data["streams"][0], "duration": float(data["format"]["duration"])}


def processes_writing(folder: Path) -> list[str]:
    """Every process (zombies too) whose command line names the folder: an ffmpeg left behind."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if str(folder) in cmdline:
            found.append(f"{entry.name} {state} {cmdline}")
    return found
