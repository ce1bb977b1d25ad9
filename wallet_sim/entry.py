"""The ``wallet-sim`` console script: the simulator's command line, or one line saying which
extra to install.

``pip install agentvp`` is the verifier alone; the simulator's own packages (the QR decoder
``zxing-cpp`` and the reference SD-JWT issuer and holder ``sd-jwt``) come with
``pip install 'agentvp[wallet]'``. Without them ``wallet-sim`` says so in one line and exits 1
instead of a traceback.
"""

from __future__ import annotations

import sys

__all__ = ["WALLET_PACKAGES", "main"]

# Top-level modules the simulator needs beyond the verifier's dependencies, and their extra.
WALLET_PACKAGES = {"zxingcpp": "zxing-cpp", "sd_jwt": "sd-jwt"}


def main() -> None:
    try:
        from wallet_sim.cli import main as run  # noqa: PLC0415 - the import is what is checked
    except ModuleNotFoundError as exc:
        top = (exc.name or "").split(".")[0]
        if top not in WALLET_PACKAGES:
            raise
        sys.stderr.write(
            f"error: wallet-sim needs {WALLET_PACKAGES[top]}, part of the simulator's extra: "
            "pip install 'agentvp[wallet]'\n"
        )
        sys.exit(1)
    run()
