"""Issue 15, ``wallet-sim`` as an integrator first runs it (the installed console script): the
demo's wallet found from where the demo ran (point 4), one mandate among several named or a
clear refusal (point 6), one line naming the option or the URL at fault and the same exit code
as ``present`` for a bad request (point 12). The agent page's command and the wallet page's
mandate list are checked through their HTTP APIs, in-process."""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import free_port
from tests.integrator.helpers import data_dir, one_line, run
from tests.web.test_demo_api import client_for
from wallet_sim.store import Wallet
from wallet_sim.web import create_app as wallet_page

SHOP_A = {"id": "merchant-4711", "name": "Shop A", "domain": "shop-a.example"}


def _action(amount: int) -> str:
    action = {
        "action": "payment.initiate",
        "transaction_id": "ord-1",
        "payee": SHOP_A,
        "payment_amount": {"amount": amount, "currency": "EUR"},
    }
    return json.dumps(action)


def _wallet(cwd: Path, where: str, *, mandates: tuple[int, ...] = ()) -> list[str]:
    """A wallet with an identity and mandates of these per-order maxima; their jtis."""
    assert run("wallet-sim", "init", "--dir", where, cwd=cwd).returncode == 0
    assert run("wallet-sim", "issue", "identity", "--dir", where, cwd=cwd).returncode == 0
    jtis = []
    for most in mandates:
        done = run(
            "wallet-sim", "mandate", "grant", "--dir", where, "--max-amount", str(most), cwd=cwd
        )
        assert done.returncode == 0, done.stderr
        jtis.append(done.stdout.split("(jti ")[1].split(")")[0])
    return jtis


# ---------------------------------------------------------------- point 4: the demo's wallet


def test_list_finds_the_demo_wallet_from_where_the_demo_ran(tmp_path: Path) -> None:
    _wallet(tmp_path, ".agentvp/demo/wallet")
    listed = run("wallet-sim", "list", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "\tidentity\thuman\t" in listed.stdout
    # `wallet-sim init` still makes its own wallet, which is then the default.
    assert run("wallet-sim", "init", cwd=tmp_path).returncode == 0
    assert (tmp_path / ".wallet-sim" / "keys").is_dir()
    assert run("wallet-sim", "list", cwd=tmp_path).stdout == ""
    demo = run("wallet-sim", "list", "--dir", ".agentvp/demo/wallet", cwd=tmp_path)
    assert "\tidentity\t" in demo.stdout


def test_no_wallet_says_where_to_look_in_one_line(tmp_path: Path) -> None:
    done = run("wallet-sim", "list", cwd=tmp_path, AGENTVP_DATA_DIR="data")
    assert done.returncode == 1
    line = one_line(done)
    assert "run `wallet-sim init`, or pass --dir" in line
    assert "data/demo/wallet" in line


def _checkout(amount: int = 1290) -> dict[str, Any]:
    action = json.loads(_action(amount))
    return {"policy": "shop-checkout", "action": {**action, "mandate_jti": "urn:uuid:x"}}


@pytest.mark.anyio
@pytest.mark.parametrize("with_demo_wallet", [True, False])
async def test_the_agent_pages_command_names_the_demo_wallet(
    tmp_path: Path, with_demo_wallet: bool
) -> None:
    data = tmp_path / "d"
    key = data_dir(data)
    if with_demo_wallet:
        Wallet.create(data / "demo" / "wallet")
    async with client_for((data, key), demo_mode=True) as page:
        created = await page.post("/demo/api/agent-checkouts", json=_checkout())
    assert created.status_code == 201, created.text
    argv = shlex.split(created.json()["agent_request"]["command"])
    assert argv[:3] == ["wallet-sim", "agent", "answer"]
    if with_demo_wallet:
        assert argv[-2:] == ["--dir", str((data / "demo" / "wallet").resolve())]
    else:
        assert "--dir" not in argv


# ---------------------------------------------------------------- point 6: which mandate


def test_several_fitting_mandates_are_refused_until_one_is_named(tmp_path: Path) -> None:
    small, large = _wallet(tmp_path, "w", mandates=(25_000, 100_000))
    rp = f"http://127.0.0.1:{free_port()}"  # nobody listens: the agent stops at the RP
    common = ("agent", "act", "--rp", rp, "--api-key", "k", "--dir", "w")
    both = run("wallet-sim", *common, "--action", _action(1290), cwd=tmp_path)
    assert both.returncode == 1
    line = one_line(both)
    assert "several mandates match: pass --mandate" in line
    assert small in line and large in line
    named = run("wallet-sim", *common, "--action", _action(1290), "--mandate", small, cwd=tmp_path)
    assert f"mandate: {small} (max 250.00 EUR/order" in named.stdout
    assert named.returncode == 2
    assert one_line(named) == f"error: cannot reach the relying party at {rp}: ConnectError"
    only_large = run("wallet-sim", *common, "--action", _action(50_000), cwd=tmp_path)
    assert f"mandate: {large} (max 1000.00 EUR/order" in only_large.stdout  # the one that fits
    assert only_large.returncode == 2
    none = run("wallet-sim", *common, "--action", _action(500_000), cwd=tmp_path)
    assert none.returncode == 3
    line = one_line(none)
    assert line.startswith("error: no mandate allows this action")
    assert f"{small}: amount_exceeds_mandate" in line and f"{large}: amount_exceeds_mandate" in line


@pytest.mark.anyio
async def test_the_wallet_page_tells_mandates_apart(tmp_path: Path) -> None:
    small, large = _wallet(tmp_path, "w", mandates=(25_000, 100_000))
    transport = httpx.ASGITransport(app=wallet_page(Wallet.open(tmp_path / "w")))
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as page:
        listed = (await page.get("/api/wallet")).json()["credentials"]
    mandates = {c["jti"]: c["summary"] for c in listed if c["kind"] == "mandate"}
    assert mandates.keys() == {small, large}
    assert mandates[small].startswith("max 250.00 EUR/order")
    assert mandates[large].startswith("max 1000.00 EUR/order")
    assert all(c["kind"] != "identity" or "jti" not in c for c in listed)


# ---------------------------------------------------------------- point 12: one line, exit codes


def test_bad_action_json_names_the_option(tmp_path: Path) -> None:
    _wallet(tmp_path, "w", mandates=(25_000,))
    for value, fragment in (
        ("{bad", "--action is not valid JSON: Expecting property name"),
        ("[1]", "--action must be a JSON object"),
        ('{"action": "payment.initiate"}', "--action: transaction_id: Field required"),
        ("@missing.json", "--action: cannot read missing.json"),
    ):
        done = run(
            "wallet-sim",
            *("agent", "act", "--rp", "http://127.0.0.1:9", "--api-key", "k", "--dir", "w"),
            *("--action", value),
            cwd=tmp_path,
        )
        assert done.returncode == 1, (value, done.stderr)
        assert fragment in one_line(done), (value, done.stderr)
    answered = run(
        "wallet-sim", "agent", "answer", "x", "--action", "{bad", "--dir", "w", cwd=tmp_path
    )
    assert answered.returncode == 1 and "--action is not valid JSON" in one_line(answered)


def test_agent_answer_exits_like_present_for_a_bad_request(tmp_path: Path) -> None:
    _wallet(tmp_path, "w", mandates=(25_000,))
    present = run("wallet-sim", "present", "garbage", "--dir", "w", cwd=tmp_path)
    answer = run("wallet-sim", "agent", "answer", "garbage", "--dir", "w", cwd=tmp_path)
    assert present.returncode == answer.returncode == 2
    assert one_line(answer) == one_line(present) == "error: bad request URL: not a URL"
