"""Server-side request forgery through the URLs a credential names (digest §4.4 retrieval
rules; OWASP SSRF): a status list ``uri`` and an issuer's ``jwks_uri`` (jwt-vc-issuer
metadata). The verifier may fetch from exactly one host - the test issuer's
``127.0.0.1:<port>`` - so each of these is refused *before any connection*: the canary
listener that many of them point at must never see one (every case asserts it)."""

from __future__ import annotations

from collections.abc import Callable

from tests.attacks.harness import BAD_METADATA, SSRF_JWKS, Attack, Case, Rejected, World
from verifier.protocol import SigningKey

NON_PUBLIC = "non-public address"
ONLY_HTTPS = "only https is allowed"
CREDENTIALS = "credentials in the URL"
# name -> (URL template, why it is refused)
STATUS_TARGETS = {
    "link_local_metadata": ("https://169.254.169.254/latest/meta-data/iam", NON_PUBLIC),
    "link_local_plain_http": ("http://169.254.169.254/latest/meta-data/iam", ONLY_HTTPS),
    "private_10": ("https://10.0.0.1/status", NON_PUBLIC),
    "private_172": ("https://172.16.0.1/status", NON_PUBLIC),
    "private_192": ("https://192.168.1.1/status", NON_PUBLIC),
    "shared_cgnat": ("https://100.64.0.1/status", NON_PUBLIC),
    "loopback": ("https://127.0.0.1:{canary}/status", NON_PUBLIC),
    "loopback_other_port_http": ("http://127.0.0.1:{canary}/status", ONLY_HTTPS),
    "loopback_short_form": ("https://127.1:{canary}/status", NON_PUBLIC),
    "loopback_decimal": ("https://2130706433:{canary}/status", NON_PUBLIC),
    "loopback_hex": ("https://0x7f000001:{canary}/status", NON_PUBLIC),
    "unspecified": ("https://0.0.0.0:{canary}/status", NON_PUBLIC),
    "ipv6_loopback": ("https://[::1]:{canary}/status", NON_PUBLIC),
    "ipv6_ula": ("https://[fd00::1]/status", NON_PUBLIC),
    "ipv6_link_local": ("https://[fe80::1]/status", NON_PUBLIC),
    "ipv4_mapped_loopback": ("https://[::ffff:127.0.0.1]:{canary}/status", NON_PUBLIC),
    "ipv4_mapped_link_local": ("https://[::ffff:169.254.169.254]/status", NON_PUBLIC),
    "documentation_range": ("https://[2001:db8::1]/status", NON_PUBLIC),
    "multicast": ("https://224.0.0.1/status", NON_PUBLIC),
    "dns_name_to_loopback": ("https://localhost:{canary}/status", NON_PUBLIC),
    "dns_name_to_loopback_hosts_file": ("https://vm:{canary}/status", NON_PUBLIC),
    "userinfo_trick": ("http://127.0.0.1:{issuer}@169.254.169.254/status", CREDENTIALS),
    "backslash_userinfo_trick": ("http://169.254.169.254\\@127.0.0.1:{issuer}/status", CREDENTIALS),
}
JWKS_REASONS = {
    "loopback-other-port": ONLY_HTTPS,
    "plain-http": ONLY_HTTPS,
    "userinfo": CREDENTIALS,
    "file": "no host",
}


def status_at(template: str) -> Callable[[World], Attack]:
    def build(world: World) -> Attack:
        uri = template.format(canary=world.canary.port, issuer=world.iport)
        return world.crafted_response(claims={"status": {"status_list": {"idx": 0, "uri": uri}}})

    return build


def metadata_issuer(path: str) -> Callable[[World], Attack]:
    """A credential of a metadata-resolved issuer whose keys the verifier has to fetch."""

    def build(world: World) -> Attack:
        key = SigningKey.generate(kid="bait-1")
        return world.crafted_response(key=key, claims={"iss": world.host.url(path)})

    return build


def _status(name: str, target: tuple[str, str]) -> Case:
    template, why = target
    return Case(
        f"ssrf_status_uri_{name}",
        "digest §4.4 retrieval rules; Token Status List §13.2",
        status_at(template),
        Rejected("status_list_unavailable", why),
    )


def _jwks(name: str) -> Case:
    return Case(
        f"ssrf_jwks_uri_{name.replace('-', '_')}",
        "digest §10 #21; SD-JWT VC §4 (JWT VC Issuer Metadata); digest §4.4",
        metadata_issuer(f"/ssrf/{name}"),
        Rejected("issuer_metadata_unavailable", JWKS_REASONS.get(name, NON_PUBLIC)),
    )


FRAGMENTS = {
    "issuer-mismatch": "is not",
    "both-key-sources": "exactly one of jwks, jwks_uri",
    "html": "not JSON",
    "redirecting-jwks": "redirect",
}
CASES = [
    *(_status(name, template) for name, template in STATUS_TARGETS.items()),
    *(_jwks(name) for name in SSRF_JWKS),
    *(
        Case(
            f"issuer_metadata_{name.replace('-', '_')}",
            "digest §10 #21; SD-JWT VC §4.2",
            metadata_issuer(f"/bad/{name}"),
            Rejected("issuer_metadata_unavailable", FRAGMENTS[name]),
        )
        for name in BAD_METADATA
    ),
]
