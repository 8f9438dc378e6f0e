"""d.files figures, run on demand (prints, asserts only that the bytes came back): write then read 1 MiB and 32 MiB
of random bytes on a local desktop, a Docker desktop (skipped without an engine) and, from this process as from a
kernel, a local desktop a Jupyter server holds (its REST route, GET/PUT .../files). Median of a few runs each.

The bytes go in on the exec channel's standard input and come out in base64 (session.py); the Jupyter server adds
an HTTP request each way.

    .venv/bin/python benchmarks/bench_files.py [--runs 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from jupyter_desktop import Desktop  # noqa: E402
from tests.harness.docker import engine_problem  # noqa: E402
from tests.harness.server import TOKEN, JupyterServer  # noqa: E402


def measure(label: str, d: Desktop, folder: str, runs: int) -> None:
    for mib in (1, 32):
        data = os.urandom(mib << 20)
        writes, reads = [], []
        for _ in range(runs):
            t0 = time.perf_counter()
            d.files.write(f"{folder}/bench.bin", data)
            t1 = time.perf_counter()
            back = d.files.read(f"{folder}/bench.bin")
            t2 = time.perf_counter()
            assert back == data
            writes.append(t1 - t0)
            reads.append(t2 - t1)
        print(f"{label:<22} {mib:>3} MiB   write {statistics.median(writes) * 1000:7.0f} ms   "
              f"read {statistics.median(reads) * 1000:7.0f} ms")  # fmt: skip
    d.files.remove(f"{folder}/bench.bin")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    runs = parser.parse_args().runs
    os.environ.pop("JUPYTER_DESKTOP_URL", None)
    with tempfile.TemporaryDirectory() as folder:
        with Desktop("none", width=320, height=200) as d:
            measure("local", d, folder, runs)
        if engine_problem() is None:
            with Desktop("none", width=320, height=200, backend="docker") as d:
                measure("docker", d, "/tmp", runs)
        else:
            print(f"docker: skipped ({engine_problem()})")
        server = JupyterServer(Path(folder))
        try:
            os.environ.update(JUPYTER_DESKTOP_URL=server.url, JUPYTER_DESKTOP_TOKEN=TOKEN)
            with Desktop("none", width=320, height=200) as d:
                measure("kernel → server, local", d, folder, runs)
        finally:
            os.environ.pop("JUPYTER_DESKTOP_URL", None)
            server.shutdown()


if __name__ == "__main__":
    main()
