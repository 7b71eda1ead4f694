"""Helpers with no Django imports, usable from scripts and benchmarks too."""

import os
import runpy
import socket
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# For test and benchmark servers only: cobrowse.settings refuses its built-in key with DEBUG off.
TEST_SECRET_KEY = "tests-only-not-secret-" + "0123456789abcdef" * 3


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def evaluate_settings(**env: str) -> dict:
    """cobrowse/settings.py evaluated afresh, as a server started with these variables (and the
    rest of this process's environment) would read it."""
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    try:
        return runpy.run_path(str(ROOT / "cobrowse" / "settings.py"))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
