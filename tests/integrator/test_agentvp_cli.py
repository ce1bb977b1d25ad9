"""Issue 15, the ``agentvp`` command as an integrator first runs it (the installed console script,
as a subprocess): where ``serve`` listens (point 1), one line per error (points 5 and 8),
unwrapped next steps (point 9) and which keys check a receipt (point 7)."""

from __future__ import annotations

import json
import socket
import subprocess
import time
from pathlib import Path

import httpx
import pytest
import yaml

from tests.conftest import free_port
from tests.e2e.harness import start_verifier, stop_process
from tests.integrator.helpers import BIN, clean_env, data_dir, one_line, run
from verifier.agents.receipts import sign_receipt
from verifier.protocol.jose import SigningKey

pytestmark = pytest.mark.e2e


def _init(cwd: Path, public_url: str, name: str = "d") -> Path:
    done = run("agentvp", "init", "--data-dir", name, "--public-url", public_url, cwd=cwd)
    assert done.returncode == 0, done.stderr
    return cwd / name


# ---------------------------------------------------------------- point 1: where serve listens


def test_serve_listens_on_the_port_of_the_public_url(tmp_path: Path) -> None:
    port = free_port()
    _init(tmp_path, f"http://127.0.0.1:{port}")
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(  # the README's serve line, without --port
            [str(BIN / "agentvp"), "serve", "--data-dir", "d"],
            cwd=tmp_path,
            env=clean_env(),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.2)
        assert f"(bind 127.0.0.1:{port}," in log.read_text()
    finally:
        stop_process(proc)  # type: ignore[arg-type]


def test_serve_refuses_a_port_other_than_the_public_urls(tmp_path: Path) -> None:
    port, other = free_port(), free_port()
    _init(tmp_path, f"http://127.0.0.1:{port}")
    done = run("agentvp", "serve", "--data-dir", "d", "--port", str(other), cwd=tmp_path)
    assert done.returncode == 1
    line = one_line(done)
    assert f"port {other} (--port / AGENTVP_PORT) does not match the public URL" in line
    assert f"http://127.0.0.1:{port} (port {port})" in line
    assert "AGENTVP_PUBLIC_URL" in line


def test_a_proxy_in_front_is_not_compared(tmp_path: Path) -> None:
    """A public URL elsewhere (a reverse proxy) says nothing about the local port."""
    data_dir(tmp_path / "d", "https://verifier.example.com")
    port = free_port()
    with socket.socket() as busy:  # a quick way to stop serve right after the checks
        busy.bind(("127.0.0.1", port))
        busy.listen()
        done = run("agentvp", "serve", "--data-dir", "d", "--port", str(port), cwd=tmp_path)
    assert done.returncode == 1
    assert "already in use" in one_line(done)  # got past the comparison


def test_init_takes_the_public_url_from_the_environment(tmp_path: Path) -> None:
    url = "http://127.0.0.1:18080"
    done = run("agentvp", "init", "--data-dir", "d", cwd=tmp_path, AGENTVP_PUBLIC_URL=url)
    assert done.returncode == 0, done.stderr
    config = yaml.safe_load((tmp_path / "d" / "config.yaml").read_text())
    assert config["public_url"] == url
    assert f"{url}/v1/presentations" in done.stdout


# ---------------------------------------------------------------- point 9: unwrapped next steps


def test_init_prints_every_next_step_on_one_line(tmp_path: Path) -> None:
    done = run("agentvp", "init", "--data-dir", "d", cwd=tmp_path, COLUMNS="40")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    steps = lines[lines.index("next steps:") + 1 :]
    assert [s.split()[0] for s in steps] == ["agentvp", "wallet-sim", "wallet-sim", "curl"]
    curl = steps[-1].strip()
    assert curl.startswith("curl -H 'Authorization: Bearer ")
    assert curl.endswith("http://localhost:8080/v1/presentations")
    assert "--data-dir d" in steps[0]


# ---------------------------------------------------------------- points 5 and 8: one line


def _serve_fails(cwd: Path, *args: str) -> str:
    done = run("agentvp", "serve", "--data-dir", "d", *args, cwd=cwd)
    assert done.returncode == 1, done.stdout + done.stderr
    return one_line(done)


def test_a_yaml_syntax_error_in_the_policy_file_is_one_line(tmp_path: Path) -> None:
    _init(tmp_path, "http://localhost:8080")
    (tmp_path / "d" / "policy.yaml").write_text("presets:\n  identity: [\n    a: b\n")
    line = _serve_fails(tmp_path)
    assert line.startswith("error: d/policy.yaml:")
    assert "YAML syntax error" in line
    where = line.split(": ", 2)[1]  # d/policy.yaml:LINE:COLUMN
    assert where.count(":") == 2 and all(p.isdigit() for p in where.split(":")[1:]), line
    demo = run("agentvp", "demo", "--once", "--data-dir", "d", cwd=tmp_path)
    assert demo.returncode == 1 and "d/policy.yaml:" in one_line(demo)


def test_a_yaml_syntax_error_in_the_config_file_is_one_line(tmp_path: Path) -> None:
    _init(tmp_path, "http://localhost:8080")
    (tmp_path / "d" / "config.yaml").write_text("public_url: http://localhost:8080\napi_keys: [x\n")
    assert "d/config.yaml:" in _serve_fails(tmp_path)
    assert "YAML syntax error" in _serve_fails(tmp_path)


def test_a_broken_trust_file_is_named_with_line_and_column(tmp_path: Path) -> None:
    _init(tmp_path, "http://localhost:8080")
    (tmp_path / "d" / "trust.json").write_text('{"issuers": [\n  {"iss": "x",}\n]}')
    line = _serve_fails(tmp_path)
    assert "d/trust.json:2:" in line and "JSON syntax error" in line, line


def test_a_port_out_of_range_is_one_line(tmp_path: Path) -> None:
    _init(tmp_path, "http://localhost:8080")
    line = _serve_fails(tmp_path, "--port", "99999")
    assert "setting port (--port / AGENTVP_PORT" in line and "65535" in line


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    port = free_port()
    _init(tmp_path, f"http://127.0.0.1:{port}")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        line = _serve_fails(tmp_path)
    assert f"cannot listen on 127.0.0.1:{port}: the address is already in use" in line


def test_a_public_url_without_scheme_is_refused_by_init(tmp_path: Path) -> None:
    done = run("agentvp", "init", "--data-dir", "d", "--public-url", "localhost:8080", cwd=tmp_path)
    assert done.returncode == 1
    assert "must be http(s)://host[:port]" in one_line(done)
    assert not (tmp_path / "d").exists()  # nothing written


def test_a_public_url_without_scheme_in_the_config_is_one_line(tmp_path: Path) -> None:
    _init(tmp_path, "http://localhost:8080")
    config = tmp_path / "d" / "config.yaml"
    config.write_text(config.read_text().replace("http://localhost:8080", "localhost:8080"))
    line = _serve_fails(tmp_path)
    assert line.startswith("error: setting public_url (AGENTVP_PUBLIC_URL")
    assert "pydantic" not in line


# ---------------------------------------------------------------- point 7: receipt keys


def _receipt(data: Path, issuer: str) -> str:
    key = SigningKey.from_jwk(json.loads((data / "verifier" / "signing_key.json").read_text()))
    claims = {"sub": "av-1", "decision": "allow", "reasons": []}
    return sign_receipt(key, claims, issuer=issuer, now=int(time.time()))


def test_receipt_verify_names_the_key_it_used(tmp_path: Path) -> None:
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    own = _init(tmp_path, issuer, "own")
    _init(tmp_path, issuer, "other")  # another verifier's data dir: another key
    receipt = _receipt(own, issuer)
    done = run("agentvp", "receipt", "verify", receipt, "--data-dir", "own", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "signed by the verifier key in own/verifier/signing_key.json (kid verifier-1)" in (
        done.stdout
    )
    wrong = run("agentvp", "receipt", "verify", receipt, "--data-dir", "other", cwd=tmp_path)
    assert wrong.returncode == 2
    line = one_line(wrong)
    assert "checked with the verifier key in other/verifier/signing_key.json" in line
    assert f"try --jwks {issuer}/.well-known/jwks.json" in line


def test_receipt_verify_fetches_the_issuers_keys_from_allowed_hosts_only(tmp_path: Path) -> None:
    port = free_port()
    issuer = f"http://localhost:{port}"
    data = _init(tmp_path, issuer, "v")
    receipt = _receipt(data, issuer)
    refused = run("agentvp", "receipt", "verify", receipt, "--data-dir", "none", cwd=tmp_path)
    assert refused.returncode == 2
    line = one_line(refused)
    assert "no local verifier key in none" in line
    assert f"AGENTVP_OUTBOUND_ALLOW_HOSTS=localhost:{port}" in line
    verifier = start_verifier(data, port=port)
    try:
        fetched = run(
            "agentvp",
            "receipt",
            "verify",
            receipt,
            "--data-dir",
            "none",
            cwd=tmp_path,
            AGENTVP_OUTBOUND_ALLOW_HOSTS=f"localhost:{port}",
        )
    finally:
        verifier.stop()
    assert fetched.returncode == 0, fetched.stderr
    assert f"signed by the keys {issuer} publishes ({issuer}/.well-known/jwks.json)" in (
        fetched.stdout
    )
