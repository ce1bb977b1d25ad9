"""``AGENTVP_KEEP_ALIVE_TIMEOUT`` reaches the server: an idle keep-alive connection outlives
uvicorn's default of 5 s when the setting says so (a reverse proxy that reuses upstream
connections needs this, and so does tests/concurrency/burst.py, which warms its connections
first)."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from tests.conftest import free_port
from tests.e2e.harness import make_data_dir, start_verifier

pytestmark = pytest.mark.e2e
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n"


def answer(sock: socket.socket) -> bytes:
    """One response head and body off ``sock`` (healthz answers a small body)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(4096)
    return head


def test_an_idle_connection_lives_as_long_as_the_setting_says(tmp_path: Path) -> None:
    port = free_port()
    make_data_dir(tmp_path / "verifier", f"http://localhost:{port}")
    verifier = start_verifier(tmp_path / "verifier", port=port, keep_alive_timeout="60")
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(REQUEST)
            assert answer(sock).startswith(b"HTTP/1.1 200")
            time.sleep(6.5)  # idle for longer than uvicorn's default keep-alive (5 s)
            sock.sendall(REQUEST)  # on the same connection
            assert answer(sock).startswith(b"HTTP/1.1 200")
    finally:
        verifier.stop()
