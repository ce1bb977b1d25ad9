"""The single-Redis store URL: ``redis://`` or ``rediss://`` (TLS), parsed for :mod:`.resp_client`.

``redis[s]://[[user]:password@]host[:port][/db][?option=value&...]`` - port 6379 by default,
database 0 by default (``/db``, or ``?db=N`` as redis-py spells it); an IPv6 host in brackets
(``[::1]``). Options, TLS only (``rediss://``):

- ``ssl_ca_certs`` - a PEM file of the CAs to trust (default: the system's);
- ``ssl_certfile`` and ``ssl_keyfile`` - a client certificate and its key (mutual TLS);
- ``ssl_cert_reqs`` - ``required`` (the default), ``optional`` or ``none`` (no verification:
  for tests only);
- ``ssl_check_hostname`` - ``true`` (the default unless ``ssl_cert_reqs=none``) or ``false``.

Any other option is refused with a ``ValueError`` that names it, at start-up, rather than
silently ignored. Parsing only; nothing here connects.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from urllib.parse import unquote

__all__ = ["RespTarget", "parse_resp_url"]

_TLS_OPTIONS = (
    "ssl_ca_certs",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_cert_reqs",
    "ssl_check_hostname",
)
_CERT_REQS = {
    "required": ssl.CERT_REQUIRED,
    "optional": ssl.CERT_OPTIONAL,
    "none": ssl.CERT_NONE,
}
_BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


@dataclass(frozen=True)
class RespTarget:
    """What a ``redis://`` or ``rediss://`` URL names."""

    host: str
    port: int = 6379
    db: int = 0
    username: str | None = None
    password: str | None = None
    tls: bool = False
    tls_options: dict[str, str] = field(default_factory=dict)

    def auth_command(self) -> tuple[str, ...] | None:
        """``AUTH`` as the URL asks for it (user and password, or the password alone), or None."""
        if self.username:
            return ("AUTH", self.username, self.password or "")
        if self.password is not None:
            return ("AUTH", self.password)
        return None

    def ssl_context(self) -> ssl.SSLContext | None:
        """The client TLS context for ``rediss://``; None for ``redis://``."""
        if not self.tls:
            return None
        options = self.tls_options
        context = ssl.create_default_context(cafile=options.get("ssl_ca_certs"))
        if "ssl_certfile" in options:
            context.load_cert_chain(options["ssl_certfile"], options.get("ssl_keyfile"))
        reqs = _CERT_REQS[options.get("ssl_cert_reqs", "required")]
        default_check = reqs != ssl.CERT_NONE
        context.check_hostname = _BOOLEANS[
            options.get("ssl_check_hostname", str(default_check).lower())
        ]
        context.verify_mode = reqs
        return context


def _redacted(url: str) -> str:
    scheme, _, rest = url.partition("://")
    netloc = rest.split("/", 1)[0].split("?", 1)[0]
    if "@" in netloc:  # never repeat a password in an error message
        return f"{scheme}://***@{rest.partition('@')[2]}"
    return url


def _host_port(netloc: str, url: str) -> tuple[str, int]:
    if netloc.startswith("["):  # [::1]:6379
        host, _, tail = netloc[1:].partition("]")
        port_text = tail[1:] if tail.startswith(":") else tail
    else:
        host, _, port_text = netloc.partition(":")
    if not host or (port_text and not port_text.isdigit()):
        raise ValueError(f"store URL {url!r}: not host[:port]")
    port = int(port_text) if port_text else 6379
    if not 0 < port < 65536:
        raise ValueError(f"store URL {url!r}: port must be 1-65535")
    return unquote(host), port


def _tls_options(query: str, url: str, *, tls: bool) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in query.split("&") if query else ():
        name, _, value = (unquote(part) for part in pair.partition("="))
        if name not in _TLS_OPTIONS:
            raise ValueError(
                f"store URL {url!r}: unknown option {name!r} (known, for rediss:// only: "
                f"{', '.join(_TLS_OPTIONS)})"
            )
        if not tls:
            raise ValueError(f"store URL {url!r}: {name} applies to rediss:// only")
        if name == "ssl_cert_reqs" and value.lower() not in _CERT_REQS:
            raise ValueError(f"store URL {url!r}: ssl_cert_reqs must be required|optional|none")
        if name == "ssl_check_hostname" and value.lower() not in _BOOLEANS:
            raise ValueError(f"store URL {url!r}: ssl_check_hostname must be true or false")
        options[name] = value.lower() if name in ("ssl_cert_reqs", "ssl_check_hostname") else value
    return options


def parse_resp_url(url: str) -> RespTarget:
    """The target of a ``redis://`` or ``rediss://`` URL; ``ValueError`` naming what is wrong."""
    shown = _redacted(url)
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("redis", "rediss"):
        raise ValueError(f"store URL {shown!r}: not a redis:// or rediss:// URL")
    tls = scheme.lower() == "rediss"
    rest, _, query = rest.partition("?")
    netloc, _, path = rest.partition("/")
    username = password = None
    if "@" in netloc:
        userinfo, _, netloc = netloc.rpartition("@")
        user, has_password, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if has_password else None
    host, port = _host_port(netloc, shown)
    path = path.strip("/")
    if path and not path.isdigit():
        raise ValueError(f"store URL {shown!r}: the path is the database number (/0, /1, ...)")
    query, db_option = _take_db(query, shown)
    if db_option is not None:
        if path:
            raise ValueError(f"store URL {shown!r}: the database is given twice (/db and ?db=)")
        path = db_option
    options = _tls_options(query, shown, tls=tls)
    return RespTarget(host, port, int(path or 0), username, password, tls, options)


def _take_db(query: str, url: str) -> tuple[str, str | None]:
    """``?db=N`` (redis-py's spelling of the database) taken out of the query."""
    rest, db = [], None
    for pair in query.split("&") if query else ():
        name, _, value = pair.partition("=")
        if unquote(name) != "db":
            rest.append(pair)
            continue
        if db is not None or not unquote(value).isdigit():
            raise ValueError(f"store URL {url!r}: db must be one database number")
        db = unquote(value)
    return "&".join(rest), db
