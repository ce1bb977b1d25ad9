"""The suite is hermetic: settings an operator has in the shell (``AGENTVP_API_KEYS``,
``AGENTVP_PUBLIC_URL``, ``AGENTVP_STORE_URL``, ``WALLET_SIM_DIR``, ...) change nothing in it
(tests/conftest.py sets them aside before collection)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ambient_settings

ROOT = Path(__file__).resolve().parents[2]
OPERATOR_SHELL = {
    "AGENTVP_API_KEYS": "operator-key-from-the-shell",
    "AGENTVP_PUBLIC_URL": "https://verifier.example.com",
    "AGENTVP_STORE_URL": "redis://127.0.0.1:1/0",
    "AGENTVP_TRUSTED_PROXIES": "10.0.0.0/8",
    "WALLET_SIM_DIR": "/nonexistent/wallet",
    "PROMETHEUS_MULTIPROC_DIR": "/nonexistent/metrics",
}


def test_no_ambient_setting_reaches_the_tests() -> None:
    assert ambient_settings() == []


def test_a_shell_with_operator_settings_changes_nothing_in_the_suite(tmp_path: Path) -> None:
    """In a shell as an operator has it, this check and an e2e test over a real `agentvp serve`
    (its own data dir, API key and public URL) pass."""
    tests = [
        f"{Path(__file__).relative_to(ROOT)}::test_no_ambient_setting_reaches_the_tests",
        "tests/e2e/test_wallet_endpoints.py::test_request_object_fetched_twice",
    ]
    options = ["-q", "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "run")]
    done = subprocess.run(  # this interpreter's pytest, on two tests of this suite
        [sys.executable, "-m", "pytest", *options, *tests],
        cwd=ROOT,
        env={**os.environ, **OPERATOR_SHELL},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "2 passed" in done.stdout, done.stdout[-3000:]
