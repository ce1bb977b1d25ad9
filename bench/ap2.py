"""In-process verification cost of a 3-segment AP2 autonomous payment chain.

The chain: the person's identity credential (User Credential root, 12 selectively disclosable
claims, every disclosure the wallet chose to present) ~~ the person's KB-SD-JWT+KB delegating an
open payment mandate (amount range, budget, recurrence, one of two payees and the instrument
disclosed) to the agent's key ~~ the agent's KB-SD-JWT with the closed payment mandate for the
verifier's challenge. In one process, median microseconds of:

  (a) floor      its three ES256 signature verifications alone on ``cryptography``
  (b) chain      ``verify_chain`` (split, typ, signatures, RFC 9901 on every segment, binding,
                 iat/exp, aud/nonce, delegate items, cnf walk)
  (c) chain+ap2  (b) plus ``evaluate_chain`` (exact vct, withheld restrictions, presets, every
                 constraint, usage) - what the verifier runs before the atomic counters

Prints the numbers and the ratios; the last line is machine-readable:
``ratio_floor=<chain+ap2/floor> ratio_chain=<chain/floor>``. Never fails on time.

    python bench/ap2.py [--rounds 15] [--batch 200]
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

sys.path.insert(0, str(Path(__file__).resolve().parent))
from verify import median_us

from verifier.protocol import StaticKeyResolver
from verifier.protocol.jose import SigningKey, b64url_decode
from verifier.protocol.mandates.ap2 import evaluate_chain
from verifier.protocol.sdjwt.delegation import split_chain, verify_chain
from wallet_sim import ap2
from wallet_sim.issuer import IDENTITY_VCT, IdentitySubject, Issuer, identity_claims

NOW = 1_780_000_000
AUD = "x509_hash:bench-verifier"
NONCE = "bench-nonce-8f2d0c7a1e6b4d9c"
SHOP = {"id": "m-1", "name": "Shoe Shop", "website": "https://shoes.example"}
OTHER = {"id": "m-2", "name": "Sock Shop", "website": "https://socks.example"}
CARD = {"id": "card-1", "type": "card"}


def build() -> tuple[str, dict[str, SigningKey], Issuer]:
    bank = Issuer("https://bank.bench.example", SigningKey.generate(kid="bank-1"))
    user, agent = SigningKey.generate(), SigningKey.generate()
    credential = bank.issue(
        identity_claims(IdentitySubject(), iss=bank.iss, now=NOW - 86400),
        holder_jwk=user.public_jwk,
        decoys=False,
    )
    item = ap2.open_payment(
        agent.public_jwk,
        amount_max=50000,
        budget=1000.0,
        payees=[SHOP, OTHER],
        instruments=[CARD],
        recurrence={"frequency": "MONTHLY", "max_occurrences": 12},
        exp=NOW + 86400,
    )
    hop = ap2.sign_hop(credential, user, [item], aud="agent", nonce="delegation", iat=NOW - 600)
    shown = hop.only(0, keep=[n[0] for n in item.nested if n[2] in (SHOP, CARD)])
    checkout = ap2.sign_checkout_jwt(SigningKey.generate(), merchant=SHOP, lines=[])
    closed = ap2.closed_payment(checkout, payee=SHOP, amount=19900, currency="EUR", instrument=CARD)
    leaf = ap2.sign_hop(shown, agent, [closed], aud=AUD, nonce=NONCE, iat=NOW)
    chain = ap2.present(credential, shown, leaf.full())
    return chain, {"bank": bank.key, "user": user, "agent": agent}, bank


def floor_fn(chain: str, keys: dict[str, SigningKey]) -> Callable[[], None]:
    jobs = []
    for segment, key in zip(
        split_chain(chain), (keys["bank"], keys["user"], keys["agent"]), strict=True
    ):
        head, body, sig = segment.split("~", 1)[0].split(".")
        raw = b64url_decode(sig)
        der = encode_dss_signature(int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big"))
        public = ec.EllipticCurvePublicNumbers(
            int.from_bytes(b64url_decode(key.public_jwk["x"]), "big"),
            int.from_bytes(b64url_decode(key.public_jwk["y"]), "big"),
            ec.SECP256R1(),
        ).public_key()
        jobs.append((public, der, f"{head}.{body}".encode()))
    algo = ec.ECDSA(hashes.SHA256())

    def run() -> None:
        for public, der, data in jobs:
            public.verify(der, data, algo)

    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    chain, keys, bank = build()
    issuers = StaticKeyResolver(
        {bank.iss: [bank.key.public_jwk]}, {bank.iss: frozenset({IDENTITY_VCT})}
    )

    def chain_only() -> None:
        verify_chain(chain, issuers=issuers, providers=None, audience=AUD, nonce=NONCE, now=NOW)

    def chain_ap2() -> None:
        verified = verify_chain(
            chain, issuers=issuers, providers=None, audience=AUD, nonce=NONCE, now=NOW
        )
        decision = evaluate_chain(verified)
        assert not decision.reasons, decision.reasons

    chain_ap2()
    results = {
        "floor": median_us(floor_fn(chain, keys), args.rounds, args.batch),
        "chain": median_us(chain_only, args.rounds, args.batch),
        "chain+ap2": median_us(chain_ap2, args.rounds, args.batch),
    }
    print(f"chain: {len(chain)} bytes, 3 segments (User Credential, open payment, closed payment)")
    for name, value in results.items():
        print(f"  {name:<10} {value:9.1f} us")
    ratio = results["chain+ap2"] / results["floor"]
    chain_ratio = results["chain"] / results["floor"]
    print(f"  chain/floor         {chain_ratio:.3f}")
    print(f"  chain+ap2/floor     {ratio:.3f}   (target <= 1.35)")
    print(f"ratio_floor={ratio:.3f} ratio_chain={chain_ratio:.3f}")


if __name__ == "__main__":
    main()
