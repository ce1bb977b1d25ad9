"""Point 17 of issue 15: ``pip install agentvp`` is the verifier alone. The simulator's packages
(the QR decoder ``zxingcpp``, the reference SD-JWT library ``sd_jwt``) are the ``wallet`` extra,
the MCP SDK the ``mcp`` extra, and ``dev`` pulls in both (``make test``, ``make demo``). With
those packages absent - ``None`` in ``sys.modules``, so that importing them fails as if they were
not installed - the verifier imports and serves, and the commands that need them say which
extra to install, in one line."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

from tests.integrator.helpers import clean_env

ROOT = Path(__file__).resolve().parents[2]
WALLET_ONLY = ("zxingcpp", "sd_jwt")
EXTRAS_ONLY = (*WALLET_ONLY, "mcp")


def _without(modules: tuple[str, ...], code: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter in which ``modules`` cannot be imported."""
    hide = "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in modules)
    return subprocess.run(  # our interpreter running our own code
        [sys.executable, "-c", hide + code],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=cwd,
        env=clean_env(PYTHONPATH=str(ROOT)),
    )


def test_the_extras_split_what_a_relying_party_does_not_need() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    core = " ".join(project["dependencies"])
    for package in ("mcp", "zxing-cpp", "sd-jwt"):
        assert package not in core, package
    extras = project["optional-dependencies"]
    assert any(d.startswith("zxing-cpp") for d in extras["wallet"])
    assert any(d.startswith("sd-jwt") for d in extras["wallet"])
    assert any(d.startswith("mcp") for d in extras["mcp"])
    assert "agentvp[wallet,mcp]" in extras["dev"]  # make test / make demo run every party
    assert project["scripts"]["wallet-sim"] == "wallet_sim.entry:main"


def test_the_verifier_imports_and_serves_without_the_extras(tmp_path: Path) -> None:
    code = f"""
import asyncio, pathlib
import httpx
from verifier.app import create_app
from verifier.settings import Settings
from verifier.setup.data_dir import init_data_dir
import verifier.cli, verifier.demo, verifier.resource  # every verifier entry point
key = init_data_dir(pathlib.Path("d"), public_url="http://localhost:8080")["api_key"]
app = create_app(Settings(data_dir=pathlib.Path("d"), store_url="memory://", api_keys=key))
async def main():
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://localhost:8080") as c:
        r = await c.post("/v1/presentations", json={{"profile": "identity"}},
                         headers={{"Authorization": "Bearer " + key}})
        assert r.status_code == 201, r.text
        assert (await c.get("/docs/assets/swagger-ui-bundle.js")).status_code == 200
asyncio.run(main())
loaded = [m for m in {EXTRAS_ONLY!r} if sys.modules.get(m) is not None]
assert not loaded, loaded
print("served")
"""
    done = _without(EXTRAS_ONLY, code, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "served"


def test_wallet_sim_without_its_extra_says_which_to_install(tmp_path: Path) -> None:
    code = (
        "import sys\nsys.argv = ['wallet-sim', 'list']\nfrom wallet_sim.entry import main\nmain()"
    )
    for missing in WALLET_ONLY:
        done = _without((missing,), code, tmp_path)
        assert done.returncode == 1, done.stderr
        assert done.stderr.strip().splitlines() == [
            f"error: wallet-sim needs {missing.replace('_', '-').replace('zxingcpp', 'zxing-cpp')}"
            ", part of the simulator's extra: pip install 'agentvp[wallet]'"
        ]


def test_mcp_call_without_the_mcp_extra_says_which_to_install(tmp_path: Path) -> None:
    code = (
        "import sys\nsys.argv = ['wallet-sim', 'agent', 'mcp-call', '--server', 'http://x/mcp',"
        " '--tool', 't']\nfrom wallet_sim.entry import main\nmain()"
    )
    done = _without(("mcp",), code, tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: agent mcp-call needs the MCP SDK: pip install 'agentvp[mcp]'"
    ]


def test_agentvp_demo_without_the_wallet_extra_says_which_to_install(tmp_path: Path) -> None:
    code = (
        "import sys\nsys.argv = ['agentvp', 'demo', '--once', '--data-dir', 'd']\n"
        "from verifier.cli import main\nmain()"
    )
    done = _without(WALLET_ONLY, code, tmp_path)
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "pip install 'agentvp[wallet]'" in lines[0], lines
    assert not (tmp_path / "d").exists()  # checked before anything is set up
