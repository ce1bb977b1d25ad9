"""``agentvp``: set up, run and demonstrate the verifier.

agentvp init  [--data-dir D] [--public-url URL] [--force]
agentvp serve [--data-dir D] [--host H] [--port P] [--workers N]
agentvp demo  [--data-dir D] [--port P] [--once]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from verifier.app import build_service
from verifier.demo import run_demo
from verifier.devsetup import init_data_dir
from verifier.settings import Settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
console = Console()
err = Console(stderr=True)

DataDir = Annotated[
    Path, typer.Option("--data-dir", envvar="AGENTVP_DATA_DIR", help="Keys, PKI, trust, store.")
]


@app.command()
def init(
    data_dir: DataDir = Path(".agentvp"),
    public_url: Annotated[
        str, typer.Option(help="Where wallets reach this verifier.")
    ] = "http://localhost:8080",
    force: Annotated[bool, typer.Option(help="Replace an existing data dir.")] = False,
) -> None:
    """Write a working development setup: keys, dev CA, demo issuers, trust and presets."""
    try:
        summary = init_data_dir(data_dir, public_url=public_url, force=force)
    except FileExistsError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    console.print(f"[green]initialised[/] {data_dir}")
    console.print(f"  API key (in {data_dir / 'config.yaml'}): {summary['api_key']}")
    console.print("next steps:")
    console.print(f"  agentvp serve --data-dir {data_dir}")
    issuers = data_dir / "demo" / "issuers"
    console.print(
        f"  wallet-sim init --issuers {issuers} --trust-verifier {summary['client_root']}"
    )
    console.print("  wallet-sim issue identity && wallet-sim issue mandate")
    console.print(
        f"  curl -H 'Authorization: Bearer {summary['api_key']}' "
        "-H 'Content-Type: application/json' "
        f'-d \'{{"profile": "identity"}}\' {public_url}/v1/presentations'
    )


@app.command()
def serve(
    data_dir: DataDir = Path(".agentvp"),
    host: Annotated[str | None, typer.Option(help="Interface to bind (AGENTVP_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (AGENTVP_PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Run the verifier with uvicorn."""
    os.environ["AGENTVP_DATA_DIR"] = str(data_dir)
    if host is not None:
        os.environ["AGENTVP_HOST"] = host
    if port is not None:
        os.environ["AGENTVP_PORT"] = str(port)
    try:
        settings = Settings()
        build_service(settings)  # fail fast, with the file at fault, before forking workers
    except (FileNotFoundError, ValueError) as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    bind = f"{settings.host}:{settings.port}"
    console.print(f"agentvp on {settings.public_url} (bind {bind}, store {settings.store_url})")
    uvicorn.run(
        "verifier.app:app_from_env",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        log_level="info",
    )


@app.command()
def demo(
    data_dir: DataDir = Path(".agentvp"),
    port: Annotated[
        int | None, typer.Option(help="Port (default from the data dir config).")
    ] = None,
    once: Annotated[bool, typer.Option(help="Exit after the flow instead of serving on.")] = False,
) -> None:
    """Run a complete cross-device flow: QR code, wallet simulator, verified claims."""
    try:
        code = run_demo(data_dir=data_dir, port=port, once=once)
    except RuntimeError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    raise typer.Exit(code)


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
