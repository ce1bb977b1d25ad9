"""``bench/load.py --profile`` (``bench/loadgen/profiles.py``): py-spy's native stacks are put
in the right category - Python frames, the compiled modules' frames (named as Cython names
them) and samples inside OpenSSL whose callers were not unwound."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

from tests.bench_modules import load_part

ROOT = Path(__file__).resolve().parents[2]


def _profiles() -> ModuleType:
    return load_part("profiles")


def test_native_stacks_land_in_their_categories(tmp_path: Path) -> None:
    profiles = _profiles()
    service = "PresentationService._verify (verifier/presentations/service.py:300)"
    crypto = "__ecp_nistz256_mul_montx (cryptography/hazmat/bindings/_rust.abi3.so)"
    lines = [
        # a compiled module's frame, then OpenSSL: the verification, not the service
        f"{service};_verify_ec (verifier/protocol/jose/jwk.py:131);{crypto} 5",
        # OpenSSL straight under a Python frame: the callers in between were not unwound
        f"{service};{crypto} 3",
        # key generation, as Cython names the method
        f"{service};SigningKey_generate (verifier/protocol/jose/jwk.py:243);{crypto} 2",
        # Python work of the service itself, and a frame nothing matches
        f"{service};credential_result (verifier/presentations/results.py:40) 4",
        "main (somewhere.py:1) 6",
    ]
    raw = tmp_path / "spy.txt"
    raw.write_text("\n".join(lines) + "\n")
    assert profiles.summarise_profile(raw) == {
        "other": 0.3,
        "ES256 verify (issuer + KB-JWT)": 0.25,
        "service logic": 0.2,
        "cryptography, caller not unwound": 0.15,
        "enc key generation": 0.1,
    }


def test_the_access_log_and_metrics_are_not_counted_as_uvicorn(tmp_path: Path) -> None:
    """Our access-log middleware runs inside uvicorn's frames: its own work and the latency
    histogram it feeds are named as such, not as the web server's."""
    cycle = "RequestResponseCycle.run_asgi (uvicorn/protocols/http/httptools_impl.py:401)"
    access = "AccessLog.__call__ (verifier/ops/logs.py:220)"
    lines = [
        f"{cycle};{access} 3",
        f"{cycle};{access};Histogram.observe (prometheus_client/metrics.py:640) 1",
        f"{cycle} 4",
    ]
    raw = tmp_path / "spy.txt"
    raw.write_text("\n".join(lines) + "\n")
    assert _profiles().summarise_profile(raw) == {
        "access log and metrics": 0.5,
        "uvicorn/httptools": 0.5,
    }


def test_a_results_name_that_is_a_path_is_refused_before_the_run() -> None:
    for name in ("/tmp/out", "../out", ""):
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "load.py"), "--name", name],
            capture_output=True,
            check=False,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr
        assert "a file name for bench/results/, not a path" in done.stderr
