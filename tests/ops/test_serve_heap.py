"""``agentvp serve``'s app factory takes what startup built out of the garbage collector's
walks (``gc.freeze``): a full collection then walks only what serving made since."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from verifier.setup.data_dir import init_data_dir

PROBE = """
import gc
from verifier.app import app_from_env
before = gc.get_freeze_count()
app_from_env()
print(before, gc.get_freeze_count(), len(gc.get_objects()))
"""


def test_the_served_app_freezes_what_startup_built(tmp_path: Path) -> None:
    init_data_dir(tmp_path / "v", public_url="http://127.0.0.1:8000")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AGENTVP_") or key == "AGENTVP_NATIVE"
    }
    env |= {"AGENTVP_DATA_DIR": str(tmp_path / "v"), "AGENTVP_STORE_URL": "memory://"}
    run = subprocess.run(
        [sys.executable, "-c", PROBE],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    before, frozen, still_walked = map(int, run.stdout.split())
    assert before == 0
    assert frozen > 50_000  # the modules, the app, its models and schemas
    assert still_walked < frozen // 10
