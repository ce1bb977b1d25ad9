"""What every ``wallet-sim`` command module shares: the consoles, the ``--dir`` option, the
one-line failure, opening the wallet, and showing a link to a human as a terminal QR code."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import qrcode
import typer
from rich.console import Console
from rich.markup import escape

from .store import Wallet

__all__ = ["DirOption", "console", "err", "fail", "open_wallet", "show_link"]

console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DirOption = Annotated[
    Path | None, typer.Option("--dir", help="Wallet directory ($WALLET_SIM_DIR).")
]


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print ``message`` as one error line; the exit to raise with ``code``."""
    err.print(f"[red]error:[/] {escape(message)}")  # messages may quote the verifier
    return typer.Exit(code)


def open_wallet(path: Path | None) -> Wallet:
    try:
        return Wallet.open(path)
    except FileNotFoundError as exc:
        raise fail(str(exc), 1) from None


def show_link(intro: str, link: str) -> None:
    """A link for a human's wallet: ``intro``, the link as a QR code, the link as text."""
    console.print(intro)
    qr = qrcode.QRCode(border=1)
    qr.add_data(link)
    qr.print_ascii(out=sys.stdout)
    console.print(link)
    sys.stdout.flush()
