"""Real servers for the scale-out backends, started as subprocesses on 127.0.0.1 and free ports:
``chroma run`` (chromadb's own CLI) and ``python -m llama_cpp.server`` with the tiny model."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from assistant.models import Registry
from assistant.settings import Settings
from tests.conftest import TINY_MODEL
from tests.test_ui import free_port

CHROMA = Path(sys.executable).parent / "chroma"


@contextmanager
def server(command: list[str], port: int, log: Path, timeout: float = 180) -> Iterator[int]:
    """Run ``command`` until the block ends; wait until it listens on ``port``; its output goes to ``log``."""
    env = {**os.environ, "ANONYMIZED_TELEMETRY": "False", "OMP_WAIT_POLICY": "PASSIVE"}
    with log.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"{command[0]} exited early:\n{log.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{command} did not listen on port {port}") from None
                time.sleep(0.3)
        yield port
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def chroma_server(folder: Path) -> Iterator[int]:
    port = free_port()
    command = [str(CHROMA), "run", "--path", str(folder / "data"), "--host", "127.0.0.1", "--port", str(port)]
    with server(command, port, folder / "chroma.log") as ready:
        yield ready


@contextmanager
def llama_server(folder: Path, n_ctx: int = 4096) -> Iterator[int]:
    """llama-cpp-python's OpenAI-compatible server with the tiny model, verified first, under its registry name."""
    from assistant.models import verify

    settings = Settings()
    registry = Registry.load(settings.llm.registry, settings.llm.models_dir)
    model = verify(registry, registry.entry(TINY_MODEL))
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(model),
        "--model_alias",
        TINY_MODEL,
        "--chat_format",
        "chatml",
        "--n_ctx",
        str(n_ctx),
        "--n_threads",
        str(os.cpu_count() or 2),
        "--seed",
        "7",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with server(command, port, folder / "llama.log") as ready:
        yield ready
