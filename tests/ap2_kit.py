"""Building AP2 chains for tests: fixed parties and clock, both trust models, both modes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from verifier.protocol import StaticKeyResolver
from verifier.protocol.jose import SigningKey
from verifier.protocol.mandates.ap2 import MandateDecision, disclosed_checkout_jwt, evaluate_chain
from verifier.protocol.mandates.ap2_checkout import CHECKOUT_VCT, Checkout, verify_checkout_jwt
from verifier.protocol.sdjwt.delegation import (
    DelegationPolicy,
    StaticProviderKeys,
    VerifiedChain,
    verify_chain,
)
from wallet_sim import ap2
from wallet_sim.issuer import IDENTITY_VCT, IdentitySubject, Issuer, identity_claims

NOW = 1_790_000_000
AUD = "x509_hash:ap2-tests"
NONCE = "ap2-test-nonce-0123456789abcdef"
MERCHANT = {"id": "m-1", "name": "Shoe Shop", "website": "https://shoes.example"}
OTHER_MERCHANT = {"id": "m-2", "name": "Sock Shop", "website": "https://socks.example"}
CARD = {"id": "card-1", "type": "card", "description": "Card 4242"}
SHOE = {"id": "sku-shoe", "title": "Gold sneaker", "price": 19900}
SOCK = {"id": "sku-sock", "title": "Socks", "price": 900}


@dataclass
class Parties:
    provider: SigningKey = field(default_factory=lambda: SigningKey.generate(kid="provider-1"))
    agent: SigningKey = field(default_factory=lambda: SigningKey.generate(kid="agent-1"))
    user: SigningKey = field(default_factory=lambda: SigningKey.generate(kid="user-1"))
    merchant: SigningKey = field(default_factory=lambda: SigningKey.generate(kid="merchant-1"))
    bank: Issuer = field(
        default_factory=lambda: Issuer("https://bank.example", SigningKey.generate(kid="bank-1"))
    )

    def issuers(self, *, trust_bank: bool = True) -> StaticKeyResolver:
        issuers = {MERCHANT["website"]: [self.merchant.public_jwk]}
        vcts = {MERCHANT["website"]: frozenset({CHECKOUT_VCT})}
        if trust_bank:
            issuers[self.bank.iss] = [self.bank.key.public_jwk]
            vcts[self.bank.iss] = frozenset({IDENTITY_VCT})
        return StaticKeyResolver(issuers, vcts)

    def providers(self) -> StaticProviderKeys:
        return StaticProviderKeys({"provider": (None, [self.provider.public_jwk])})

    def checkout_jwt(self, lines: list[tuple[dict[str, Any], int]] | None = None) -> str:
        return ap2.sign_checkout_jwt(
            self.merchant, merchant=MERCHANT, lines=lines or [(SHOE, 1)], currency="EUR"
        )

    def credential(self) -> str:
        """The user's identity credential as presented: every disclosure, as the user chose."""
        claims = identity_claims(IdentitySubject(), iss=self.bank.iss, now=NOW - 86400)
        return self.bank.issue(claims, holder_jwk=self.user.public_jwk, decoys=False)

    def verify(
        self,
        chain: str,
        *,
        checkout_jwt: str | None = None,
        checkout_chain: str | None = None,
        nonce: str = NONCE,
        now: int = NOW,
        policy: DelegationPolicy | None = None,
        trust_bank: bool = True,
    ) -> tuple[VerifiedChain, MandateDecision]:
        issuers = self.issuers(trust_bank=trust_bank)
        kwargs: dict[str, Any] = {"policy": policy} if policy is not None else {}
        verified = verify_chain(
            chain,
            issuers=issuers,
            providers=self.providers(),
            audience=AUD,
            nonce=nonce,
            now=now,
            **kwargs,
        )
        checkout: Checkout | None = None
        checkout_jwt = checkout_jwt or disclosed_checkout_jwt(verified)
        if checkout_jwt is not None:
            checkout = verify_checkout_jwt(checkout_jwt, merchants=issuers, now=now)
        other = None
        if checkout_chain is not None:
            other = verify_chain(
                checkout_chain,
                issuers=issuers,
                providers=self.providers(),
                audience=AUD,
                nonce=nonce,
                now=now,
            )
        return verified, evaluate_chain(verified, checkout=checkout, checkout_chain=other)


def open_payment(p: Parties, **overrides: Any) -> ap2.Item:
    options: dict[str, Any] = {
        "amount_max": 50000,
        "currency": "EUR",
        "budget": 1000.0,
        "payees": [MERCHANT, OTHER_MERCHANT],
        "instruments": [CARD],
        "recurrence": {"frequency": "ON_DEMAND", "max_occurrences": 5},
        "exp": NOW + 86400,
        **overrides,
    }
    return ap2.open_payment(p.agent.public_jwk, **options)


def payment_chain(
    p: Parties,
    *,
    item: ap2.Item | None = None,
    closed: ap2.Item | None = None,
    checkout_jwt: str | None = None,
    keep: list[str] | None = None,
    hop: dict[str, Any] | None = None,
    agent: SigningKey | None = None,
) -> tuple[str, str]:
    """Agent-provider root (open payment) ~~ agent hop (closed payment); and the checkout JWT."""
    item = item or open_payment(p)
    cj = checkout_jwt or p.checkout_jwt()
    root = ap2.provider_root(p.provider, [item])
    needed = [n[0] for n in item.nested if n[2] in (MERCHANT, CARD)]
    shown = root.only(0, keep=keep if keep is not None else needed)
    closed = closed or ap2.closed_payment(
        cj, payee=MERCHANT, amount=19900, currency="EUR", instrument=CARD
    )
    options = {"aud": AUD, "nonce": NONCE, "iat": NOW, **(hop or {})}
    leaf = ap2.sign_hop(shown, agent or p.agent, [closed], **options)
    return ap2.present(shown, leaf.full()), cj


def user_chain(p: Parties, items: list[ap2.Item], *, agent_closed: ap2.Item | None = None) -> str:
    """User Credential root ~~ user hop (items) [~~ agent hop (closed)]."""
    cred = p.credential()
    if agent_closed is None:  # direct: the user's hop answers the challenge
        user = ap2.sign_hop(cred, p.user, items, aud=AUD, nonce=NONCE, iat=NOW)
        return ap2.present(cred, user.only(0))
    user = ap2.sign_hop(cred, p.user, items, aud=AUD, nonce="user-nonce", iat=NOW - 600)
    shown = user.only(0)
    leaf = ap2.sign_hop(shown, p.agent, [agent_closed], aud=AUD, nonce=NONCE, iat=NOW)
    return ap2.present(cred, shown, leaf.full())
