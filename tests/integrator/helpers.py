"""Parts of the integrator tests (issue 15): the real CLIs as subprocesses, and the app
in-process over ASGI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from verifier.app import create_app
from verifier.settings import Settings
from verifier.setup.data_dir import init_data_dir

BIN = Path(sys.executable).parent
PUBLIC = "http://localhost:8080"


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any ambient ``AGENTVP_*`` or ``WALLET_SIM_*`` setting, wide
    enough that nothing wraps."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AGENTVP_", "WALLET_SIM_"))}
    return {**env, "COLUMNS": "80", **extra}


def run(
    program: str, *args: str, cwd: Path, timeout: float = 60, **env: str
) -> subprocess.CompletedProcess[str]:
    """``agentvp`` or ``wallet-sim`` (the installed console scripts of this venv)."""
    return subprocess.run(  # our own console scripts
        [str(BIN / program), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        cwd=cwd,
        env=clean_env(**env),
        stdin=subprocess.DEVNULL,
    )


def one_line(done: subprocess.CompletedProcess[str]) -> str:
    """The single stderr line of a failed command (asserting there is exactly one)."""
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, done.stderr
    return lines[0]


def data_dir(path: Path, public_url: str = PUBLIC) -> str:
    """A dev data dir at ``path``; its API key."""
    return init_data_dir(path, public_url=public_url)["api_key"]


def client(path: Path, api_key: str, **settings: Any) -> httpx.AsyncClient:
    """The app in-process (memory store) as an RP API client."""
    values = {"data_dir": path, "api_keys": api_key, "store_url": "memory://", **settings}
    values.setdefault("public_url", PUBLIC)
    transport = httpx.ASGITransport(app=create_app(Settings(**values)))
    return httpx.AsyncClient(
        transport=transport,
        base_url=str(values["public_url"]),
        headers={"Authorization": f"Bearer {api_key}"},
    )
