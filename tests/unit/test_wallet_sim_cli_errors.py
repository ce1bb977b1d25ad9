"""``wallet-sim``'s failures are one line and an exit code, in every command module (the
shared ``wallet_sim/cli_common.py``): a missing wallet is exit 1, never a traceback, and text
that quotes a verifier is printed as it is, never read as console markup."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from wallet_sim.cli import app
from wallet_sim.cli_common import fail


@pytest.mark.parametrize(
    "argv",
    [
        ["list"],
        ["ap2", "merchant-jwks"],
        ["ap2", "challenge", "--rp", "http://127.0.0.1:9", "--api-key", "k"],
        ["agent", "answer", "openid4vp://?request_uri=x"],
    ],
)
def test_a_missing_wallet_is_one_line_and_exit_1(argv: list[str], tmp_path: Path) -> None:
    missing = tmp_path / "no-wallet"
    result = CliRunner().invoke(app, [*argv, "--dir", str(missing)])
    assert result.exit_code == 1, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "error:" in result.output and "is not a wallet directory" in result.output


def test_a_failure_prints_markup_as_text(capsys: pytest.CaptureFixture[str]) -> None:
    exit_ = fail("the verifier said [bold]no[/bold] and [/oops]", 3)
    assert isinstance(exit_, typer.Exit) and exit_.exit_code == 3
    assert "the verifier said [bold]no[/bold] and [/oops]" in capsys.readouterr().err
