"""Hermetic: no ambient ``AGENTVP_*`` or ``WALLET_SIM_*`` setting reaches these tests (the
subprocesses get :func:`tests.integrator.helpers.clean_env`)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _no_ambient_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("AGENTVP_", "WALLET_SIM_")):
            monkeypatch.delenv(name)
