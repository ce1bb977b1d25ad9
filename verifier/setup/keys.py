"""The verifier's own identity: its signing key, certificate chain and OpenID4VP client_id.

Files in the data dir (written by ``agentvp init``)::

    verifier/signing_key.json   private JWK of the request-object signing key
    verifier/chain.pem          leaf certificate first, then intermediates (never the anchor)
    pki/root.pem                the (dev) trust anchor wallets are configured with

The client_id follows the configured prefix (OpenID4VP 1.0 §5.9.3): ``x509_hash:`` + base64url
SHA-256 of the leaf DER, ``x509_san_dns:`` + the leaf's first dNSName SAN, or
``redirect_uri:`` + the response URI base (unsigned requests; development only).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509

from verifier.config_files import load_document
from verifier.protocol import AgentVPError
from verifier.protocol.jose import SigningKey
from verifier.protocol.x509.chain import dns_sans, load_pem_certificates, x5c_header, x509_hash

__all__ = ["VerifierKeys", "load_verifier_keys"]


@dataclass(frozen=True)
class VerifierKeys:
    """What the verifier signs with and how wallets identify it."""

    signing_key: SigningKey
    chain: tuple[x509.Certificate, ...]
    prefix: str
    client_id: str

    @property
    def x5c(self) -> list[str]:
        return x5c_header(self.chain)

    @property
    def signed(self) -> bool:
        return self.prefix != "redirect_uri"


def client_id_for(prefix: str, leaf: x509.Certificate | None, public_url: str) -> str:
    if prefix == "x509_hash":
        if leaf is None:
            raise ValueError("x509_hash needs a leaf certificate")
        return f"x509_hash:{x509_hash(leaf)}"
    if prefix == "x509_san_dns":
        if leaf is None:
            raise ValueError("x509_san_dns needs a leaf certificate")
        names = dns_sans(leaf)
        host = urlsplit(public_url).hostname
        if not names:
            raise ValueError("the leaf certificate has no dNSName SAN for x509_san_dns")
        # The response_uri host must equal the client id (VP §5.9.3): prefer the public host.
        return f"x509_san_dns:{host if host in names else names[0]}"
    if prefix == "redirect_uri":
        return f"redirect_uri:{public_url}/wallet/response"
    raise ValueError(f"unsupported client_id prefix {prefix!r}")


def load_verifier_keys(data_dir: Path, *, prefix: str, public_url: str) -> VerifierKeys:
    """Read the key and chain from ``data_dir``; a clear error names any missing file."""
    key_path = data_dir / "verifier" / "signing_key.json"
    chain_path = data_dir / "verifier" / "chain.pem"
    for path in (key_path, chain_path):
        if not path.exists():
            raise FileNotFoundError(f"{path} is missing - run `agentvp init` first")
    try:
        key = SigningKey.from_jwk(load_document(key_path, json_only=True))
    except (AgentVPError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(f"{key_path}: not a private signing JWK ({exc})") from None
    try:
        chain = tuple(load_pem_certificates(chain_path.read_text(encoding="utf-8")))
    except (AgentVPError, ValueError) as exc:
        raise ValueError(f"{chain_path}: not PEM certificates ({exc})") from None
    if not chain:
        raise ValueError(f"{chain_path} holds no certificate")
    return VerifierKeys(
        signing_key=key,
        chain=chain,
        prefix=prefix,
        client_id=client_id_for(prefix, chain[0], public_url),
    )
