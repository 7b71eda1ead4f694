"""Real servers the tests start as processes (daphne, an OpenID Connect provider): the command,
waiting until one answers, and stopping it."""

import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path


def daphne_command(port: int) -> list[str]:
    """daphne serving the real ASGI application on loopback."""
    daphne = [sys.executable, "-m", "daphne"]
    return [*daphne, "-b", "127.0.0.1", "-p", str(port), "cobrowse.asgi:application"]


def wait_until_answers(
    url: str, proc: subprocess.Popen, *, what: str, seconds: float, log: Path | None = None
) -> None:
    """Until `url` answers over HTTP (any status), or fail saying why: the process exited (see its
    log) or it did not answer in time."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return
        except urllib.error.HTTPError:
            return  # it answers
        except OSError:
            if proc.poll() is not None:
                where = f"; see {log}" if log else ""
                raise RuntimeError(f"{what} exited{where}") from None
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not answer within {seconds:g} s") from None
            time.sleep(0.1)


def stop(proc: subprocess.Popen | None) -> None:
    """Terminate, and kill if it does not go within 10 s."""
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
