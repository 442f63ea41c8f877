"""A throwaway ``redis-server`` on a free 127.0.0.1 port for the distributed-crawl tests.

Started in a temporary directory without persistence (no RDB, no AOF) and stopped (the directory
deleted) when its ``with`` block ends. When ``redis-server`` is missing the tests fail in CI
(``CI=true``) and are skipped with the reason elsewhere.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["free_port", "redis_server", "start_redis", "stop_redis", "unavailable"]


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_redis(port: int, root: str, *, persist: bool = False) -> subprocess.Popen[bytes]:
    """Start ``redis-server`` on 127.0.0.1:``port`` with its files in ``root`` and wait until it
    answers; ``persist``: an append-only file synced on every write, so that a server killed
    and started again on the same ``root`` keeps its data. Raise RuntimeError if none starts."""
    binary = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not os.path.exists(binary):
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly"]
    args += ["yes", "--appendfsync", "always"] if persist else ["no"]
    args += ["--dir", root, "--logfile", os.path.join(root, "log")]
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as conn:
                conn.sendall(b"PING\r\n")
                if conn.recv(16).startswith(b"+PONG"):
                    return proc
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"redis-server did not start on 127.0.0.1:{port}")
        time.sleep(0.05)


def stop_redis(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server of :func:`start_redis` (killed if it does not stop in 10 s)."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def redis_server() -> Iterator[str]:
    """Yield ``redis://127.0.0.1:PORT/0`` of a fresh server; raise RuntimeError if none starts."""
    root = tempfile.mkdtemp(prefix="manyheads-redis-test-")
    port = free_port()
    try:
        proc = start_redis(port, root)
        try:
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            stop_redis(proc)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def unavailable(reason: str) -> None:
    """Fail in CI, skip elsewhere, naming the reason."""
    import pytest

    if os.environ.get("CI") == "true":
        pytest.fail(f"redis-server is required in CI: {reason}")
    pytest.skip(f"redis-server not available: {reason}")
