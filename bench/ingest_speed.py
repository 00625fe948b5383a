"""Ingest of generated reports alone, with the share spent embedding: ``python -m bench.ingest_speed [--reports N]``.

The same steps as ``bench.run``'s ingest (parse, split, pseudonymise, embed, index in SQLite and
Chroma; the embedding model loaded before the clock starts), under the effective settings, so
``ASSISTANT_EMBEDDING__BACKEND=torch`` times the other backend. CPU seconds are printed beside wall
seconds: on the shared 2-core machine the wall figure follows the load, passages per CPU second less so.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from assistant.settings import Settings, disable_telemetry

disable_telemetry()

from assistant.pipeline import Assistant  # noqa: E402 - after the telemetry switches
from bench.generate import write_generated  # noqa: E402
from vectorstore.embeddings import Embedder  # noqa: E402


class TimedEmbedder:
    """Wraps an embedder to add up its time and the lengths of what it embedded."""

    def __init__(self, embedder: Embedder):
        self.inner, self.name, self.dim = embedder, embedder.name, embedder.dim
        self.seconds, self.lengths = 0.0, []

    def embed(self, texts: list[str]) -> list[list[float]]:
        started = time.perf_counter()
        vectors = self.inner.embed(texts)
        self.seconds += time.perf_counter() - started
        self.lengths += [len(t) for t in texts]
        return vectors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--reports", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        paths = write_generated(work / "generated", args.reports)
        settings = Settings(home=work / "home")
        embedder = TimedEmbedder(Embedder(settings.embedding))
        assistant = Assistant(settings, embedder=embedder)  # type: ignore[arg-type]
        assistant.index  # noqa: B018 - open Chroma before the clock starts
        cpu, wall = time.process_time(), time.perf_counter()
        assistant.ingest(paths)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        passages = assistant.store.counts()["passages"]
        assistant.store.close()
    lengths = sorted(embedder.lengths)
    print(
        f"{embedder.name}: {args.reports} reports, {passages} passages in {wall:.1f} s = "
        f"{passages / wall:.1f} passages/s "
        f"({passages / cpu:.1f} per CPU second); embedding {embedder.seconds:.1f} s "
        f"({100 * embedder.seconds / wall:.0f}%); passage chars median {statistics.median(lengths):.0f}, "
        f"mean {statistics.mean(lengths):.0f}, max {lengths[-1]}; load average {os.getloadavg()[0]:.2f}"
    )


if __name__ == "__main__":
    main()
