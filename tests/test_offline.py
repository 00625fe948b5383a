"""Nothing needs the network: ingest, summarize and the web page run in a namespace with loopback only.

``unshare -rn`` gives the commands a new user and network namespace: no interface but ``lo``, so any
phone-home (telemetry, update check, model hub) fails at the kernel, whatever library or language makes it.
The commands also carry the Python socket guard (tests/netguard, on PYTHONPATH), which logs every attempt:
the log must stay empty, so an attempt a library swallows quietly still fails the test.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, TINY_MODEL

ROOT = Path(__file__).resolve().parent.parent
FETCH_PAGE = """
import http.cookiejar, sys, time, urllib.parse, urllib.request
base = f"http://127.0.0.1:{sys.argv[1]}"
deadline = time.time() + float(sys.argv[2])
opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
while True:
    try:
        opener.open(base + "/", timeout=5).read()
        break
    except OSError:
        if time.time() > deadline:
            raise
        time.sleep(1)
form = urllib.parse.urlencode({"username": "chef", "password": "långt-lösenord-2025"}).encode()
opener.open(base + "/login", data=form, timeout=30).read()
print(opener.open(base + "/config", timeout=30).read().decode("utf-8"))
"""


def unshare_problem() -> str | None:
    """Why a loopback-only namespace cannot be made here, or None when it can."""
    if shutil.which("unshare") is None:
        return "the unshare command (util-linux) is not installed"
    probe = subprocess.run(["unshare", "-rn", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"'unshare -rn true' failed here (user namespaces not allowed?): {probe.stderr.strip()}"
    if shutil.which("ip") is None:
        return "the ip command (iproute2) is not installed, so loopback cannot be brought up in the namespace"
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def offline_env(tmp_path) -> dict[str, str]:
    """A user's environment: only the model choice and the guard's log; telemetry switches come from the app."""
    drop = ("HF_", "TRANSFORMERS_", "GRADIO_", "ANONYMIZED_", "LANGCHAIN_", "LANGSMITH_", "DO_NOT_TRACK")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env.update(
        ASSISTANT_HOME=str(tmp_path / "home"),
        ASSISTANT_LLM__MODEL=TINY_MODEL,
        ASSISTANT_LLM__NARRATIVE_MAX_TOKENS="48",
        NETGUARD_LOG=str(tmp_path / "netguard.log"),
    )
    return env


def in_namespace(script: str, env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["unshare", "-rn", "sh", "-c", f"ip link set lo up && {script}"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=timeout,
    )


def attempts(env: dict[str, str]) -> str:
    log = Path(env["NETGUARD_LOG"])
    return log.read_text(encoding="utf-8") if log.exists() else ""


def test_python_subprocesses_carry_the_socket_guard(offline_env):
    code = (
        "import socket\ntry:\n    socket.create_connection(('192.0.2.1', 80), timeout=2)\n"
        "except RuntimeError as e:\n    print('blocked:', e)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=offline_env, timeout=60)
    assert "blocked: test tried to connect off this machine" in result.stdout, result.stderr
    assert "192.0.2.1" in attempts(offline_env)


def test_ingest_summarize_and_ui_work_without_a_network(offline_env):
    problem = unshare_problem()
    if problem:
        pytest.skip(problem)
    python = f"{sys.executable} -m assistant.cli"

    routes = in_namespace(
        f"{sys.executable} -c \"import socket; socket.socket().connect(('192.0.2.1', 80))\"",
        {k: v for k, v in offline_env.items() if k != "PYTHONPATH"},
    )
    assert "Network is unreachable" in routes.stderr, "the namespace is not cut off; the test would prove nothing"

    ingest = in_namespace(f"{python} ingest {FIXTURES / 'reports.jsonl'}", offline_env)
    assert ingest.returncode == 0 and "3 added" in ingest.stdout, ingest.stderr
    summary = in_namespace(f"{python} summarize T1 --format md", offline_env)
    assert summary.returncode == 0 and "T1" in summary.stdout, summary.stderr

    add_admin = f"echo långt-lösenord-2025 | {python} users add chef --role admin --password-stdin"
    admin = in_namespace(add_admin, offline_env)
    assert admin.returncode == 0, admin.stderr  # the page needs a user to log in
    port, home = free_port(), offline_env["ASSISTANT_HOME"]
    page = in_namespace(
        f"(timeout 400 {python} ui --port {port} > {home}/ui.log 2>&1 & echo $! > {home}/ui.pid); "
        f"{sys.executable} -c '{FETCH_PAGE}' {port} 300; status=$?; kill $(cat {home}/ui.pid); exit $status",
        offline_env,
        timeout=420,
    )
    assert page.returncode == 0, page.stderr
    assert '"username":"chef"' in page.stdout, page.stdout[:2000]  # logged in through the real login route
    assert "Stöd inför möte: tidigare orosanmälningar" in page.stdout and "Beslutsstöd, inte beslut." in page.stdout
    assert attempts(offline_env) == ""
