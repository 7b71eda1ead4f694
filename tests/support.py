"""Helpers with no Django imports, usable from scripts and benchmarks too."""

import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
