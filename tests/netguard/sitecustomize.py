"""The test suite's network guard: any connection to an address off this machine raises.

pytest installs it in its own process (tests/conftest.py); subprocesses started by tests get it because
conftest puts this folder on ``PYTHONPATH``, where Python imports ``sitecustomize`` at start-up. It sees
connections made through Python's ``socket`` module (each attempt is also appended to ``$NETGUARD_LOG``
when set); code in C that opens its own sockets is not covered,
which is what the test in tests/test_offline.py, run in a namespace without a network, is for.
"""

from __future__ import annotations

import ipaddress
import os
import socket
import sys

_real_connect = socket.socket.connect


def is_local(address) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def guarded_connect(sock, address):
    if not is_local(address):
        print(f"netguard: blocked a connection off this machine: {address!r}", file=sys.stderr)
        if os.environ.get("NETGUARD_LOG"):  # kept even when the caller swallows the error
            with open(os.environ["NETGUARD_LOG"], "a", encoding="utf-8") as log:
                log.write(f"{os.getpid()} {sys.argv[:3]} {address!r}\n")
        raise RuntimeError(f"test tried to connect off this machine: {address!r}")
    return _real_connect(sock, address)


def install() -> None:
    socket.socket.connect = guarded_connect


def uninstall() -> None:
    socket.socket.connect = _real_connect


if __name__ == "sitecustomize":
    install()
