"""A private ``redis-server`` for ``manyheads crawl --workers N`` on one machine (no ``frontier``).

It listens on a Unix socket in a new temporary folder (no TCP port, nothing saved to disk) and is
stopped, and the folder deleted, when the crawl ends. Only that folder is ever deleted.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from manyheads.errors import ManyheadsError

__all__ = ["private_redis"]


@contextmanager
def private_redis(executable: str | None = None) -> Iterator[str]:
    """Start ``redis-server`` on a Unix socket; yield its ``unix://`` URL; stop it.

    Raises:
        ManyheadsError: ``redis-server`` is not installed or does not start.
    """
    binary = executable or shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(binary).exists():
        raise ManyheadsError(
            "'manyheads crawl --workers N' needs a Redis server for the shared queue: install "
            "redis-server (Debian/Ubuntu: apt-get install redis-server), or name a running "
            "one with 'frontier: redis://host:6379/0' in the crawl config."
        )
    root = Path(tempfile.mkdtemp(prefix="manyheads-redis-"))
    sock = root / "redis.sock"
    args = [binary, "--port", "0", "--unixsocket", str(sock), "--unixsocketperm", "700"]
    args += ["--save", "", "--appendonly", "no", "--dir", str(root), "--logfile", "redis.log"]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not sock.exists():
            if proc.poll() is not None or time.monotonic() > deadline:
                log = (
                    (root / "redis.log").read_text()[-500:] if (root / "redis.log").exists() else ""
                )
                raise ManyheadsError(f"redis-server did not start ({binary}): {log.strip()}")
            time.sleep(0.02)
        yield f"unix://{sock}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)
