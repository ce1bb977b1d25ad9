"""What ``agentvp serve`` and ``agentvp demo`` check before they listen, each failure one line.

- **Settings** (:func:`load_settings`): a bad value from the environment, the config file or an
  option is ``setting <name> (AGENTVP_<NAME>): <why>``, never a validation dump.
- **Where to listen** (:func:`bind_address`): wallets and browsers reach the verifier at its
  public URL. When that URL is on this machine (``localhost``, a loopback address) and no port
  was chosen, the verifier listens on the URL's port (and on ``::1`` for an IPv6 loopback URL),
  so every QR code points at a port somebody listens on; a port that was chosen and differs is
  refused, naming both. A public URL elsewhere (a reverse proxy in front) is not compared, nor
  one behind ``AGENTVP_TRUSTED_PROXIES`` (a local proxy forwarding to another port).
- **The port is free** (:func:`check_port_free`): a port in use is one line, not uvicorn's
  traceback.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from verifier.settings import Settings

__all__ = ["bind_address", "check_port_free", "is_loopback_url", "load_settings"]

_DEFAULT_PORTS = {"http": 80, "https": 443}


def load_settings(options: dict[str, str] | None = None, **overrides: Any) -> Settings:
    """:class:`Settings` from the environment and config file; ``ValueError`` in one line.
    ``options`` names the command-line option behind a setting (``{"port": "--port"}``)."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = ".".join(str(p) for p in first["loc"]) or "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        option = (options or {}).get(name)
        sources = [s for s in (option, f"AGENTVP_{name.upper()}", "the config file") if s]
        where = f" ({' / '.join(sources)})" if name in Settings.model_fields else ""
        raise ValueError(f"setting {name}{where}: {message}") from None


def _loopback_host(host: str) -> bool:
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_url(url: str) -> bool:
    """Whether ``url`` names this machine (so this process must be what answers it)."""
    return _loopback_host((urlsplit(url).hostname or "").lower())


def _public_port(url: str) -> int:
    parts = urlsplit(url)
    return parts.port or _DEFAULT_PORTS.get(parts.scheme, 80)


def bind_address(settings: Settings) -> tuple[str, int]:
    """The interface and port to listen on; ``ValueError`` (one line) for a mismatch."""
    host, port = settings.host, settings.port
    url = settings.public_url
    if not is_loopback_url(url) or settings.trusted_proxy_list:
        return host, port
    wanted = _public_port(url)
    if "host" not in settings.model_fields_set and urlsplit(url).hostname == "::1":
        host = "::1"
    if "port" not in settings.model_fields_set:
        return host, wanted
    if port != wanted:
        raise ValueError(
            f"port {port} (--port / AGENTVP_PORT) does not match the public URL {url} (port "
            f"{wanted}): wallets would reach a port nobody listens on; drop the port, or change "
            "AGENTVP_PUBLIC_URL (public_url in config.yaml)"
        )
    return host, port


def check_port_free(host: str, port: int) -> None:
    """``OSError`` with one clear line when ``host:port`` cannot be listened on."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
        try:
            sock.bind((host, port))
        except OSError as exc:
            where = f"[{host}]:{port}" if family == socket.AF_INET6 else f"{host}:{port}"
            if exc.errno == errno.EADDRINUSE:
                why = "the address is already in use (another agentvp? pass --port)"
            elif exc.errno == errno.EACCES:
                why = "permission denied (ports below 1024 need privileges)"
            else:
                why = exc.strerror or str(exc)
            raise OSError(f"cannot listen on {where}: {why}") from None
