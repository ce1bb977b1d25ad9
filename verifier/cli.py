"""``agentvp``: set up, run and demonstrate the verifier.

agentvp init  [--data-dir D] [--public-url URL] [--force]
agentvp serve [--data-dir D] [--host H] [--port P] [--workers N]
agentvp demo  [--data-dir D] [--port P] [--once]
agentvp receipt verify <jwt> [--jwks FILE|URL]
agentvp audit verify <events.json> [--receipt JWT]
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
import uvicorn
from rich.console import Console
from rich.markup import escape

from verifier import native
from verifier.agents.audit import verify_chain
from verifier.agents.receipt_keys import check_receipt, keys_for_receipt
from verifier.agents.receipts import ReceiptError
from verifier.app import build_service
from verifier.demo import run_demo
from verifier.ops import workers as workers_module
from verifier.ops.logs import logging_config
from verifier.settings import public_url_problem
from verifier.setup.config_docs import render as render_config_docs
from verifier.setup.data_dir import init_data_dir, next_steps
from verifier.setup.startup import bind_address, check_port_free, load_settings

app = typer.Typer(add_completion=False, no_args_is_help=True, help=__doc__)
# soft_wrap: a command printed for copying is never broken across lines (stdout may be a pipe).
console = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)

DataDir = Annotated[
    Path, typer.Option("--data-dir", envvar="AGENTVP_DATA_DIR", help="Keys, PKI, trust, store.")
]


@app.command()
def init(
    data_dir: DataDir = Path(".agentvp"),
    public_url: Annotated[
        str,
        typer.Option(envvar="AGENTVP_PUBLIC_URL", help="Where wallets reach this verifier."),
    ] = "http://localhost:8080",
    force: Annotated[bool, typer.Option(help="Replace an existing data dir.")] = False,
) -> None:
    """Write a working development setup: keys, dev CA, demo issuers, trust and presets."""
    problem = public_url_problem(public_url)
    if problem is not None:
        err.print(f"[red]error:[/] --public-url: {escape(problem)}")
        raise typer.Exit(1)
    public_url = public_url.rstrip("/")
    try:
        summary = init_data_dir(data_dir, public_url=public_url, force=force)
    except (FileExistsError, OSError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    console.print(f"[green]initialised[/] {data_dir}")
    console.print(f"  API key (in {data_dir / 'config.yaml'}): {summary['api_key']}")
    console.print("next steps:")
    for line in next_steps(data_dir, public_url, summary):
        console.print(f"  {line}", markup=False, highlight=False)


@app.command()
def serve(
    data_dir: DataDir = Path(".agentvp"),
    host: Annotated[str | None, typer.Option(help="Interface to bind (AGENTVP_HOST).")] = None,
    port: Annotated[
        int | None,
        typer.Option(help="Port (AGENTVP_PORT; default: the public URL's port when it is local)."),
    ] = None,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Run the verifier with uvicorn."""
    os.environ["AGENTVP_DATA_DIR"] = str(data_dir)
    if host is not None:
        os.environ["AGENTVP_HOST"] = host
    if port is not None:
        os.environ["AGENTVP_PORT"] = str(port)
    try:
        settings = load_settings({"port": "--port", "host": "--host"})
        bind_host, bind_port = bind_address(settings)
        build_service(settings)  # fail fast, with the file at fault, before forking workers
        check_port_free(bind_host, bind_port)
    except (OSError, ValueError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    os.environ["AGENTVP_HOST"], os.environ["AGENTVP_PORT"] = bind_host, str(bind_port)
    bind = f"{bind_host}:{bind_port}"
    console.print(f"agentvp on {settings.public_url} (bind {bind}, store {settings.store_url})")
    compiled = native.summary(native.loaded_states(), native.binding_states())
    console.print(compiled, markup=False, highlight=False)
    options: dict[str, Any] = {
        "factory": True,
        "host": bind_host,
        "port": bind_port,
        "workers": workers,
        "log_config": logging_config(settings.log_format, settings.log_level),
        "access_log": False,
        "http": _http_protocol(),
        "timeout_keep_alive": settings.keep_alive_timeout,
        "proxy_headers": False,  # the app decides (AGENTVP_TRUSTED_PROXIES), see create_app
    }
    if workers > 1 and workers_module.can_reuse_port():  # a listening socket per worker
        console.print(f"{workers} workers, each on its own socket (SO_REUSEPORT)", markup=False)
        workers_module.run_workers(uvicorn.Config("verifier.app:app_from_env", **options))
        return
    uvicorn.run("verifier.app:app_from_env", **options)


def _http_protocol() -> str:
    """httptools with a response's writes sent as one (:mod:`verifier.ops.http_protocol`)
    where uvicorn's ``auto`` would pick httptools; else ``auto`` (h11)."""
    if importlib.util.find_spec("httptools") is None:
        return "auto"
    return "verifier.ops.http_protocol:BatchedHttpTools"


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
    except (RuntimeError, OSError, ValueError) as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        raise typer.Exit(1) from None
    raise typer.Exit(code)


@app.command("config-docs")
def config_docs(
    check: Annotated[
        Path | None, typer.Option(help="Compare with this file; exit 1 when it is stale.")
    ] = None,
) -> None:
    """Print docs/CONFIGURATION.md, generated from the settings model."""
    text = render_config_docs()
    if check is None:
        sys.stdout.write(text)
        return
    if not check.exists() or check.read_text(encoding="utf-8") != text:
        err.print(f"[red]stale:[/] {check} - regenerate with `agentvp config-docs > {check}`")
        raise typer.Exit(1)
    console.print(f"{check} is up to date")


receipt_app = typer.Typer(no_args_is_help=True, help="Decision receipts.")
audit_app = typer.Typer(no_args_is_help=True, help="Audit logs of agent verifications.")
app.add_typer(receipt_app, name="receipt")
app.add_typer(audit_app, name="audit")
JwksOption = Annotated[
    str | None,
    typer.Option(
        help="JWKS file or URL (default: the verifier key in --data-dir, else the keys the "
        "receipt's issuer publishes)."
    ),
]


def _text_arg(value: str) -> str:
    """A literal, or @file, or a path to an existing file."""
    path = Path(value[1:] if value.startswith("@") else value)
    try:
        is_file = path.is_file()
    except OSError:  # a JWT is longer than any file name
        is_file = False
    return path.read_text(encoding="utf-8").strip() if is_file else value.strip()


def _checked_receipt(receipt: str, jwks: str | None, data_dir: Path) -> tuple[dict[str, Any], str]:
    """The receipt's claims and the keys that checked it (``ReceiptError`` otherwise)."""
    token = _text_arg(receipt)
    allow = load_settings().outbound_allow_list if jwks is None else []
    keys = keys_for_receipt(token, jwks=jwks, data_dir=data_dir, allow_hosts=allow)
    return check_receipt(token, keys), keys.source


@receipt_app.command("verify")
def receipt_verify(
    receipt: Annotated[str, typer.Argument(help="The receipt JWT, @file or a file path.")],
    jwks: JwksOption = None,
    data_dir: DataDir = Path(".agentvp"),
) -> None:
    """Check a receipt's signature; print its claims and which keys checked it."""
    try:
        claims, source = _checked_receipt(receipt, jwks, data_dir)
    except (ReceiptError, OSError, ValueError) as exc:
        err.print(f"[red]invalid receipt:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    console.print_json(json.dumps(claims))
    console.print(
        f"[green]valid[/] receipt: decision {claims.get('decision')} for {claims.get('sub')}, "
        f"signed by {escape(source)}"
    )


@audit_app.command("verify")
def audit_verify(
    events: Annotated[
        Path, typer.Argument(help="JSON from GET /v1/agent-verifications/{id}/events.")
    ],
    receipt: Annotated[
        str | None, typer.Option(help="The decision receipt (JWT, @file, path).")
    ] = None,
    jwks: JwksOption = None,
    data_dir: DataDir = Path(".agentvp"),
) -> None:
    """Recompute the audit hash chain; with --receipt, check it against the signed head."""
    try:
        data = json.loads(events.read_text(encoding="utf-8"))
        listed = data["events"] if isinstance(data, dict) else data
        head = length = None
        if receipt is not None:
            claims, _ = _checked_receipt(receipt, jwks, data_dir)
            head, length = claims.get("audit_head"), claims.get("audit_len")
    except (ReceiptError, OSError, ValueError, KeyError) as exc:
        err.print(f"[red]cannot check:[/] {escape(str(exc))}")
        raise typer.Exit(2) from None
    problems = verify_chain(listed, head=head, length=length)
    if problems:
        for problem in problems:
            err.print(f"[red]broken:[/] {problem}")
        raise typer.Exit(3)
    anchored = " and matches the receipt" if receipt else ""
    console.print(f"[green]intact[/]: {len(listed)} events, chain verified{anchored}")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    main()
