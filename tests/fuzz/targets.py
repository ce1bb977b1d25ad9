"""The parsers under fuzz: one :class:`Target` each, shared by ``test_parsers.py`` and
``bench/fuzz.py``.

A target couples an input generator (random inputs and mutations of the seed corpus, see
:mod:`tests.fuzz.mutate`) with the parser call the verifier or the wallet makes on untrusted
input, the exceptions that call may raise (the project's typed errors - anything else is a
bug), and, for signed or encrypted artifacts, ``legit``: whether accepting a tampered input is
legitimate (a holder may drop disclosures; any other change of the text - even one that spells
the same bytes in non-canonical base64url - is tampering). :meth:`Target.check` enforces both.
"""

from __future__ import annotations

import contextlib
import copy
import json
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any
from urllib.parse import urlencode

from verifier.policy.trust import TrustAnchor, TrustConfig, TrustedIssuer, TrustResolver
from verifier.protocol import (
    AgentVPError,
    DCQLQuery,
    HeldCredential,
    SigningKey,
    VerifiedCredential,
    check_credential,
    check_credential_sets,
    check_status,
    decode_status_list,
    parse_authorization_request_uri,
    parse_transaction_data,
    reconstruct,
    split_sd_jwt,
    verify_id_token,
    verify_kb_jwt,
    verify_presentation,
    verify_request_object,
    verify_status_list_token,
    verify_vp_token,
)
from verifier.protocol.jose import (
    b64url_decode,
    b64url_encode,
    decrypt_jwe,
    encrypt_jwe,
    parse_unverified_jws,
)
from verifier.protocol.jsonutil import loads
from verifier.protocol.oauth.dpop import DPoPError, verify_proof
from verifier.protocol.oid4vp.dc_api import check_origin, parse_dc_api_response
from verifier.protocol.oid4vp.response import parse_direct_post, parse_direct_post_jwt, parse_form
from verifier.protocol.x509.chain import load_pem_certificates

from . import corpus
from .mutate import (
    Case,
    b64json,
    b64json_decode,
    forge_sd_jwt,
    mutate,
    mutate_chars,
    mutate_json,
    resign,
    text_case,
)
from .source import Source, choice, encode_json, random_json

__all__ = ["SIGNED", "TARGETS", "TamperedAcceptedError", "Target", "by_name"]

C = corpus.load()
NOW: int = C["now"]
AUD: str = C["client_id"]
NONCE: str = C["nonce"]
MAX_BYTES = 64 * 1024
ENCS = ("A128GCM", "A256GCM")


class TamperedAcceptedError(AssertionError):
    """A tampered signed/encrypted artifact was accepted."""


@dataclass(frozen=True)
class Target:
    name: str
    generate: Callable[[Source, bool], Case]  # (choices, tampered_only) -> one input
    run: Callable[[Any], object]
    seeds: Sequence[Any]  # valid inputs: each must be accepted
    typed: tuple[type[Exception], ...] = (AgentVPError,)
    legit: Callable[[Any, Any], bool] | None = None  # (tampered value, its seed) -> may pass?

    def check(self, case: Case) -> str | None:
        """None if accepted, the error code if refused with a typed error; anything else
        propagates, and an accepted tampered artifact raises :class:`TamperedAcceptedError`."""
        try:
            self.run(case.value)
        except self.typed as exc:
            return str(getattr(exc, "code", type(exc).__name__))
        if case.origin is not None and self.legit and not self.legit(case.value, case.origin):
            raise TamperedAcceptedError(f"{self.name}: tampered input accepted: {case.value!r}")
        return None


@cache
def key(role: str) -> SigningKey:
    return C.key(role)


def _same_text(value: str, origin: str) -> bool:
    """Untampered: the same text. base64url is canonical, so a signature spelled otherwise
    (non-zero spare bits in its last character) is a tampered signature, not the same one."""
    return value == origin


# --------------------------------------------------------------------------------------------
# Strict JSON


def _json_seeds() -> list[str]:
    texts = [json.dumps(v["vp_token"]) for v in C["vp_tokens"]]
    texts += [json.dumps(q) for q in C["dcql_queries"]]
    for issuance in C["issuances"].values():
        texts += [b64url_decode(s).decode() for s in issuance.split("~")[0].split(".")[:2]]
        texts += [b64url_decode(d).decode() for d in issuance.split("~")[1:-1]]
    return texts


JSON_SEEDS = _json_seeds()


def gen_json(src: Source, tampered_only: bool) -> Case:
    mode = src.below(6)
    if mode == 0:
        text = choice(src, JSON_SEEDS)
        for _ in range(1 + src.below(3)):
            text = mutate_chars(src, text)
        return Case(text.encode("utf-8", "surrogatepass"))
    if mode == 1:
        value = mutate_json(src, json.loads(choice(src, JSON_SEEDS)))
        return Case(encode_json(src, value).encode("utf-8", "surrogatepass"))
    if mode == 2:
        return Case(encode_json(src, random_json(src)).encode("utf-8", "surrogatepass"))
    if mode == 3:
        return Case(src.blob(300))
    if mode == 4:
        return Case(src.text(300).encode("utf-8", "surrogatepass"))
    depth = choice(src, (31, 32, 33, 1000, 200_000))
    return Case(("[" * depth + "]" * depth * src.below(2)).encode())


# --------------------------------------------------------------------------------------------
# SD-JWT: unverified processing (RFC 9901), verified SD-JWT VC, KB-JWT, vp_token


PRESENTATIONS = [p for vp in C["vp_tokens"] for ps in vp["vp_token"].values() for p in ps]
SD_SEEDS = [*C["issuances"].values(), *PRESENTATIONS]
ISSUER_ROLES = ("ekyc", "mandates", "x5c_issuer")


def _issuer_key(part: str) -> SigningKey | None:
    header = b64json_decode(part.split(".", maxsplit=1)[0])
    if not isinstance(header, dict) or header.get("typ") == "kb+jwt":
        return None
    if "x5c" in header:
        return key("x5c_issuer")
    role = str(header.get("kid", "")).rpartition("-")[0]
    return key(role) if role in ISSUER_ROLES else None


def _holder_key(seed: str) -> SigningKey:
    payload = b64json_decode(seed.split("~", maxsplit=1)[0].split(".")[1])
    x = payload["cnf"]["jwk"]["x"]
    return next(key(r) for r in ("human", "agent") if key(r).public_jwk["x"] == x)


def _forged(src: Source, issuer_key: Callable[[str], SigningKey | None]) -> Case:
    seed = choice(src, SD_SEEDS)
    forged = forge_sd_jwt(
        src,
        seed,
        issuer_key=issuer_key(seed.split("~")[0]) or key("attacker"),
        holder_key=_holder_key(seed),
        audience=AUD,
        nonce=NONCE,
        now=NOW,
    )
    return Case(forged)


def gen_sdjwt(src: Source, tampered_only: bool) -> Case:
    if src.below(3) == 0:
        return _forged(src, lambda _: key("attacker"))
    return text_case(src, SD_SEEDS)


def run_sdjwt(text: str) -> None:
    parts = split_sd_jwt(text)
    payload = parse_unverified_jws(parts.issuer_jwt, what="issuer JWT").payload_json()
    reconstruct(payload, parts.disclosures)
    if parts.kb_jwt is None:
        HeldCredential.from_issuance(text)


# Keys that never legitimately sign a credential or a KB-JWT here.
WRONG_KEYS = ("attacker", "status")


def gen_sdjwt_vc(src: Source, tampered_only: bool) -> Case:
    if not tampered_only and src.below(3) == 0:
        return _forged(src, _issuer_key)
    wrong = [key(r) for r in WRONG_KEYS]
    return text_case(
        src, SD_SEEDS, tampered_only=tampered_only, wrong_keys=wrong, trusted=_issuer_key
    )


@cache
def resolver() -> TrustResolver:
    issuers = [TrustedIssuer(iss=iss, jwks={"keys": jwks}) for iss, jwks in C["issuers"].items()]
    anchors = [TrustAnchor(pem=pem) for pem in C["anchors"]]
    return TrustResolver(TrustConfig(issuers=issuers, anchors=anchors), clock=lambda: NOW)


def run_sdjwt_vc(text: str, *, require_key_binding: bool = False) -> VerifiedCredential:
    return verify_presentation(
        text,
        keys=resolver(),
        audience=AUD,
        nonce=NONCE,
        now=NOW,
        require_key_binding=require_key_binding,
    )


def legit_sd(value: str, origin: str) -> bool:
    """Same issuer-signed bytes, a subset of the disclosures, and the KB-JWT dropped or intact."""
    got, seed = value.split("~"), origin.split("~")
    if got[0] != seed[0] or not set(got[1:-1]) <= set(seed[1:-1]):
        return False
    return not got[-1] or (bool(seed[-1]) and _same_text(got[-1], seed[-1]))


KB_SEEDS = [(p[: p.rfind("~") + 1], p[p.rfind("~") + 1 :], _holder_key(p)) for p in PRESENTATIONS]


def gen_kb_jwt(src: Source, tampered_only: bool) -> Case:
    i = src.below(len(KB_SEEDS))
    _, token, holder = KB_SEEDS[i]
    wrong = [key(r) for r in (*WRONG_KEYS, "ekyc")]
    case = text_case(
        src, [token], tampered_only=tampered_only, wrong_keys=wrong, trusted=lambda _: holder
    )
    return Case((i, case.value), None if case.origin is None else (i, case.origin))


def run_kb_jwt(value: tuple[int, str]) -> None:
    presented, _, holder = KB_SEEDS[value[0]]
    verify_kb_jwt(
        value[1],
        holder_key=holder.public_key,
        presented=presented,
        sd_alg="sha-256",
        audience=AUD,
        nonce=NONCE,
        now=NOW,
        allowed_algs={"ES256"},
        max_age=300,
        leeway=60,
    )


QUERIES = [DCQLQuery.parse(vp["dcql_query"]) for vp in C["vp_tokens"]]


def gen_vp_token(src: Source, tampered_only: bool) -> Case:
    i = src.below(len(C["vp_tokens"]))
    vp = copy.deepcopy(C["vp_tokens"][i]["vp_token"])
    mode = src.below(2) if tampered_only else src.below(4)
    if mode == 0:
        return Case((i, mutate_json(src, vp)), (i, None))
    query_id = choice(src, list(vp))
    if mode == 1:
        wrong = [key(r) for r in WRONG_KEYS]
        vp[query_id][0] = mutate(src, vp[query_id][0], donors=SD_SEEDS, wrong_keys=wrong)[0]
        return Case((i, vp), (i, None))
    if mode == 2:
        return Case((i, random_json(src)))
    vp[query_id][0] = _forged(src, _issuer_key).value
    return Case((i, vp))


def run_vp_token(value: tuple[int, Any]) -> None:
    i, vp_token = value
    verify_vp_token(
        vp_token,
        query=QUERIES[i],
        keys=resolver(),
        audience=AUD,
        nonce=NONCE,
        now=NOW,
        transaction_data=C["vp_tokens"][i]["transaction_data"],
    )


def _bound(presentation: str) -> tuple[str, str]:
    """What a KB-JWT covers: the presented SD-JWT, and the KB-JWT itself (canonical text)."""
    cut = presentation.rfind("~") + 1
    return presentation[:cut], presentation[cut:]


def legit_vp_token(value: tuple[int, Any], origin: tuple[int, None]) -> bool:
    seeds = {_bound(p) for ps in C["vp_tokens"][value[0]]["vp_token"].values() for p in ps}
    return all(_bound(p) in seeds for ps in value[1].values() for p in ps)


# --------------------------------------------------------------------------------------------
# DCQL

RICH_QUERY = {
    "credentials": [
        {
            "id": "pid",
            "format": "dc+sd-jwt",
            "multiple": True,
            "require_cryptographic_holder_binding": False,
            "meta": {"vct_values": ["https://agentvp.example/vct/verified_person/1"]},
            "trusted_authorities": [{"type": "aki", "values": ["s9tIpP7qrS9"]}],
            "claims": [
                {"id": "a", "path": ["verified_claims", "claims", "nationalities", None]},
                {
                    "id": "b",
                    "path": ["verified_claims", "claims", "address", "country"],
                    "values": ["DE", 1, True],
                },
                {"id": "c", "path": ["verified_claims", "verification", "evidence", 0, "type"]},
            ],
            "claim_sets": [["a", "b"], ["c"]],
        },
        {"id": "m", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:x"]}},
    ],
    "credential_sets": [
        {"options": [["pid"], ["m"]]},
        {"options": [["m", "pid"]], "required": False},
    ],
}
DCQL_SEEDS = [*C["dcql_queries"], *(vp["dcql_query"] for vp in C["vp_tokens"]), RICH_QUERY]


def gen_dcql(src: Source, tampered_only: bool) -> Case:
    if src.below(4) == 0:
        return Case(random_json(src))
    value = choice(src, DCQL_SEEDS)
    for _ in range(1 + src.below(4)):
        value = mutate_json(src, value)
    return Case(value)


@cache
def verified_identity() -> VerifiedCredential:
    return run_sdjwt_vc(PRESENTATIONS[0], require_key_binding=True)


def run_dcql(value: Any) -> None:
    query = DCQLQuery.parse(value)
    query.as_json()
    for cq in query.credentials:
        list(cq.claim_options())
        with contextlib.suppress(AgentVPError):
            check_credential(cq, verified_identity())
    check_credential_sets(query, sorted(query.requested_ids())[:1])


# --------------------------------------------------------------------------------------------
# Responses: the form body, direct_post.jwt (JWE), direct_post


ENC_JWK = key("enc").to_jwk()
ENC_PUBLIC = C["metadata"]["jwks"]["keys"][0]
JWES: list[str] = C["jwe_responses"]


@cache
def jwe_plaintexts() -> list[Any]:
    """The seed responses' parameters (decrypted once, for re-encryption after tampering)."""
    return [loads(decrypt_jwe(t, ENC_JWK, expected_kid=None, allowed_enc=ENCS)[1]) for t in JWES]


def gen_jwe(src: Source, tampered_only: bool) -> Case:
    if not tampered_only and src.below(4) == 0:
        params = mutate_json(src, choice(src, jwe_plaintexts()))
        plaintext = encode_json(src, params).encode("utf-8", "surrogatepass")
        return Case(encrypt_jwe(plaintext, ENC_PUBLIC, enc=choice(src, ENCS)))
    return text_case(src, JWES, tampered_only=tampered_only)


def run_jwe(token: str) -> None:
    parse_direct_post_jwt(
        {"response": token}, enc_jwk=ENC_JWK, allowed_enc=ENCS, max_bytes=MAX_BYTES
    )


def legit_jwe(value: str, origin: str) -> bool:
    """Every segment is canonical base64url and the header is authenticated as received:
    any other text of a JWE is tampering."""
    return value == origin


FORMS = [("direct_post.jwt", {"response": t}) for t in JWES]
FORMS += [("direct_post", f) for f in C["direct_post_forms"]]


def gen_form(src: Source, tampered_only: bool) -> Case:
    mode, form = choice(src, FORMS)
    form = dict(form)
    kind = src.below(4)
    if kind == 0:
        name = choice(src, [*form, "state", "error", "vp_token", "response", src.text(6)])
        value = form.get(name, "")
        form[name] = mutate_chars(src, value) if src.below(2) else json.dumps(random_json(src))
        if src.below(4) == 0:
            del form[choice(src, list(form))]
        body = urlencode(form, errors="surrogatepass").encode()
    elif kind == 1:
        body = mutate_chars(src, urlencode(form)).encode("utf-8", "surrogatepass")
    elif kind == 2:
        body = src.blob(200)
    else:
        pair = urlencode({choice(src, list(form)): src.text(10)}, errors="surrogatepass")
        body = f"{urlencode(form)}&{pair}".encode("utf-8", "surrogatepass")
    return Case((mode, body))


def run_form(value: tuple[str, bytes]) -> None:
    mode, body = value
    form = parse_form(body, max_bytes=MAX_BYTES)
    if mode == "direct_post.jwt":
        parse_direct_post_jwt(form, enc_jwk=ENC_JWK, allowed_enc=ENCS, max_bytes=MAX_BYTES)
    else:
        parse_direct_post(form)


# --------------------------------------------------------------------------------------------
# Digital Credentials API (OpenID4VP Appendix A): the browser's answer, the page's origin


@cache
def dc_seeds() -> list[tuple[str, Any]]:
    """The seed responses as DigitalCredential data: plain (``dc_api``), encrypted
    (``dc_api.jwt``, once per process), and a wallet error. No ``state`` over the DC API."""
    params = [{k: v for k, v in p.items() if k != "state"} for p in jwe_plaintexts()]
    params = [p for p in params if isinstance(p.get("vp_token"), dict)]
    seeds: list[tuple[str, Any]] = [("dc_api", p) for p in params]
    for p in params:
        token = encrypt_jwe(json.dumps(p).encode(), ENC_PUBLIC, enc="A256GCM")
        seeds.append(("dc_api.jwt", {"response": token}))
    return [*seeds, ("dc_api.jwt", {"error": "access_denied"})]


def gen_dc_response(src: Source, tampered_only: bool) -> Case:
    mode, data = choice(src, dc_seeds())
    if "response" in data and (tampered_only or src.below(2)):
        tampered = text_case(src, [data["response"]], tampered_only=tampered_only)
        origin = (mode, data) if tampered.origin is not None else None
        return Case((mode, {"response": tampered.value}), origin)
    if tampered_only:
        return Case((mode, data))
    changed = mutate_json(src, data) if src.below(4) else random_json(src)
    return Case((choice(src, ["dc_api", "dc_api.jwt", mode]), changed))


def run_dc_response(value: tuple[str, Any]) -> None:
    mode, data = value
    parse_dc_api_response(
        data, response_mode=mode, enc_jwk=ENC_JWK, allowed_enc=ENCS, max_bytes=MAX_BYTES
    )


def legit_dc_response(value: tuple[str, Any], origin: tuple[str, Any]) -> bool:
    return legit_jwe(value[1]["response"], origin[1]["response"])


ORIGINS = ["https://shop.example", "https://shop.example:8443", "http://localhost:8080",
           "http://127.0.0.1:5173", "http://[::1]:8080", "https://[2001:db8::1]"]  # fmt: skip


def gen_origin(src: Source, tampered_only: bool) -> Case:
    if src.below(3) == 0:
        return Case(random_json(src))
    return Case(mutate_chars(src, choice(src, ORIGINS)))


# --------------------------------------------------------------------------------------------
# Token Status List: the signed token, and the compressed list itself

STATUS_URI: str = C["status_uri"]
LIST_LIMIT = 1 << 20  # decompression bound of the fuzzed decoder (the default is 16 MiB)


def gen_status_token(src: Source, tampered_only: bool) -> Case:
    wrong = [key("attacker"), key("ekyc")]
    return text_case(
        src,
        C["status_tokens"],
        tampered_only=tampered_only,
        wrong_keys=wrong,
        trusted=lambda _: key("status"),
    )


def _lookups(status_list: Any, extra: Sequence[int] = ()) -> None:
    size = len(status_list)
    for idx in (0, 1, 5, size - 1, size, *extra):
        with contextlib.suppress(AgentVPError):
            check_status(status_list, idx)


def run_status_token(token: str) -> None:
    verified = verify_status_list_token(
        token,
        keys=[key("status").public_key],
        expected_uri=STATUS_URI,
        now=NOW,
        max_bytes=LIST_LIMIT,
    )
    _lookups(verified.status_list)


LISTS = [b64json_decode(t.split(".")[1])["status_list"] for t in C["status_tokens"]]


@cache
def zlib_bomb() -> str:
    return b64url_encode(zlib.compress(bytes(LIST_LIMIT + 1), 9))


def gen_status_list(src: Source, tampered_only: bool) -> Case:
    kind = src.below(5)
    if kind == 0:
        lst = choice(src, LISTS)["lst"]
        for _ in range(1 + src.below(3)):
            lst = mutate_chars(src, lst)
    elif kind == 1:
        compressed = zlib.compress(src.blob(64), choice(src, (0, 1, 9)))
        lst = b64url_encode(compressed[: len(compressed) - src.below(4)] + src.blob(3))
    elif kind == 2:
        lst = b64url_encode(src.blob(64))
    elif kind == 3:
        lst = zlib_bomb()
    else:
        lst = b64json(src, random_json(src))
    bits = choice(src, (1, 2, 4, 8, 0, 3, 5, 16, -1, 256))
    idx = choice(src, (0, 1, 7, 8, -1, 2**31, 2**64)) if src.below(2) else src.below(1 << 12)
    return Case((lst, bits, idx))


def run_status_list(value: tuple[str, int, int]) -> None:
    lst, bits, idx = value
    _lookups(decode_status_list(lst, bits, max_bytes=LIST_LIMIT), (idx,))


# --------------------------------------------------------------------------------------------
# DPoP proofs, the wallet's request objects and invocation URLs, transaction data, ID tokens

DPOP = C["dpop"]


def gen_dpop(src: Source, tampered_only: bool) -> Case:
    with_token = bool(src.below(2))
    if not tampered_only and src.below(5) == 0:
        # Another key's proof, self-consistent: its own jwk in the header (legitimate).
        attacker = key("attacker")
        head = b64json_decode(choice(src, DPOP["proofs"]).split(".")[0])
        head["jwk"] = attacker.public_jwk
        part = f"{b64json(src, head)}.{choice(src, DPOP['proofs']).split('.')[1]}."
        return Case((resign(src, part, attacker, tamper=False), with_token))
    case = text_case(
        src,
        DPOP["proofs"],
        tampered_only=tampered_only,
        wrong_keys=[key("attacker"), key("human")],
        trusted=lambda _: key("agent"),
    )
    origin = None if case.origin is None else (case.origin, with_token)
    return Case((case.value, with_token), origin)


def run_dpop(value: tuple[str, bool]) -> None:
    proof, with_token = value
    verify_proof(
        proof,
        htm="POST",
        htu=DPOP["htu"],
        now=NOW,
        access_token=DPOP["access_token"] if with_token else None,
    )


REQUESTS = C["requests"]
ANCHORS = [cert for pem in C["anchors"] for cert in load_pem_certificates(pem)]


def _with_x5c(src: Source, token: str, x5c: list[str], signer: SigningKey) -> str:
    head = b64json_decode(token.split(".", maxsplit=1)[0])
    head["x5c"] = x5c
    return resign(src, f"{b64json(src, head)}.{token.split('.')[1]}.", signer, tamper=False)


def gen_request(src: Source, tampered_only: bool) -> Case:
    request = choice(src, REQUESTS)
    token, client_id = request["token"], request["client_id"]
    signed = not client_id.startswith("redirect_uri:")
    mode = src.below(3) if tampered_only else src.below(5)
    if mode == 0:
        token = mutate(
            src, token, donors=[r["token"] for r in REQUESTS], wrong_keys=[key("attacker")]
        )[0]
    elif mode == 1:
        token = _with_x5c(src, token, C["attacker_x5c"], key("attacker"))
    elif mode == 2:
        client_id = mutate_chars(src, client_id)
    elif mode == 3:
        token = resign(src, token, key("verifier"), tamper=True)
        signed = False
    else:
        token = src.text(200)
        signed = False
    value = (token, client_id, request["wallet_nonce"])
    return Case(value, (request["token"], request["client_id"]) if signed else None)


def run_request(value: tuple[str, str, str | None]) -> None:
    token, client_id, wallet_nonce = value
    verify_request_object(
        token, url_client_id=client_id, anchors=ANCHORS, now=NOW, wallet_nonce=wallet_nonce
    )


def legit_request(value: tuple[str, str, str | None], origin: tuple[str, str]) -> bool:
    return value[1] == origin[1] and _same_text(value[0], origin[0])


TD_SEEDS = [td for vp in C["vp_tokens"] for td in vp["transaction_data"]]


def gen_authz_uri(src: Source, tampered_only: bool) -> Case:
    return text_case(src, C["authorization_uris"])


def gen_transaction_data(src: Source, tampered_only: bool) -> Case:
    return text_case(src, TD_SEEDS)


def gen_id_token(src: Source, tampered_only: bool) -> Case:
    return text_case(
        src,
        C["id_tokens"],
        tampered_only=tampered_only,
        wrong_keys=[key("attacker"), key("agent")],
        trusted=lambda _: key("human"),
    )


def run_id_token(token: str) -> None:
    verify_id_token(token, audience=AUD, nonce=NONCE, now=NOW)


TARGETS = (
    Target("json", gen_json, loads, [t.encode() for t in JSON_SEEDS]),
    Target("sd-jwt", gen_sdjwt, run_sdjwt, SD_SEEDS),
    Target("sd-jwt-vc", gen_sdjwt_vc, run_sdjwt_vc, SD_SEEDS, legit=legit_sd),
    Target(
        "kb-jwt",
        gen_kb_jwt,
        run_kb_jwt,
        [(i, kb) for i, (_, kb, _) in enumerate(KB_SEEDS)],
        legit=lambda v, o: _same_text(v[1], o[1]),
    ),
    Target(
        "vp-token",
        gen_vp_token,
        run_vp_token,
        [(i, vp["vp_token"]) for i, vp in enumerate(C["vp_tokens"])],
        legit=legit_vp_token,
    ),
    Target("dcql", gen_dcql, run_dcql, DCQL_SEEDS),
    Target("response-form", gen_form, run_form, [(m, urlencode(f).encode()) for m, f in FORMS]),
    Target("jwe", gen_jwe, run_jwe, JWES, legit=legit_jwe),
    Target(
        "status-token",
        gen_status_token,
        run_status_token,
        C["status_tokens"],
        legit=_same_text,
    ),
    Target(
        "status-list",
        gen_status_list,
        run_status_list,
        [(sl["lst"], sl["bits"], 0) for sl in LISTS],
    ),
    Target(
        "dpop",
        gen_dpop,
        run_dpop,
        [(DPOP["proofs"][0], False), (DPOP["proofs"][1], True)],
        typed=(DPoPError,),
        legit=lambda v, o: _same_text(v[0], o[0]),
    ),
    Target(
        "request-object",
        gen_request,
        run_request,
        [(r["token"], r["client_id"], r["wallet_nonce"]) for r in REQUESTS],
        legit=legit_request,
    ),
    Target("authz-uri", gen_authz_uri, parse_authorization_request_uri, C["authorization_uris"]),
    Target("transaction-data", gen_transaction_data, parse_transaction_data, TD_SEEDS),
    Target("id-token", gen_id_token, run_id_token, C["id_tokens"], legit=_same_text),
    Target(
        "dc-api-response", gen_dc_response, run_dc_response, dc_seeds(), legit=legit_dc_response
    ),
    Target("dc-api-origin", gen_origin, check_origin, ORIGINS),
)
SIGNED = tuple(t for t in TARGETS if t.legit is not None)


def by_name(name: str) -> Target:
    return next(t for t in TARGETS if t.name == name)
