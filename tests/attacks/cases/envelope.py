"""The response URI's envelope: content type, form, JWE, ``state`` (digest §10 checks 11-13,
16; OpenID4VP §8.2-§8.3). None of these responses can be attributed to the transaction, so each
is refused with a specific error and changes nothing."""

from __future__ import annotations

import json
import secrets

from tests.attacks import forge
from tests.attacks.harness import FORM, Attack, Case, Refused, World

BAD = 400


def unknown_request(world: World) -> Attack:
    url = f"{world.verifier.url}/wallet/response/{secrets.token_urlsafe(32)}"
    return Attack("POST", url, {"Content-Type": FORM}, b"response=a.b.c.d.e")


def before_fetch(world: World) -> Attack:
    view = world.rp.create(profile="identity")
    url = view["request_uri"].replace("/wallet/request/", "/wallet/response/")
    return Attack("POST", url, {"Content-Type": FORM}, b"response=a.b.c.d.e", watch=[view["id"]])


def json_body(world: World) -> Attack:
    live = world.present(profile="identity")
    body = json.dumps(live.respond().content.decode()).encode()  # type: ignore[union-attr]
    return live.post(body, content_type="application/json")


def multipart(world: World) -> Attack:
    live = world.present(profile="identity")
    form = live.respond().content
    assert form is not None
    boundary = "x" + secrets.token_hex(8)
    value = form.decode().split("=", 1)[1]
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="response"\r\n\r\n'
        f"{value}\r\n--{boundary}--\r\n"
    ).encode()
    return live.post(body, content_type=f"multipart/form-data; boundary={boundary}")


def text_plain(world: World) -> Attack:
    attack = world.present(profile="identity").respond(target=False)
    attack.headers = {"Content-Type": "text/plain"}
    return attack


def oversized(world: World) -> Attack:
    live = world.present(profile="identity")
    return live.post({"response": "A" * (300 * 1024)})


def oversized_chunked(world: World) -> Attack:
    """No Content-Length: the limit must hold while the body streams in."""
    attack = world.present(profile="identity").post(b"")
    attack.content = None
    attack.chunks = [b"response=", *([b"A" * 65536] * 5)]
    return attack


def repeated_response(world: World) -> Attack:
    live = world.present(profile="identity")
    good = live.respond().content
    assert good is not None
    return live.post(good + b"&" + good)


def extra_field(world: World) -> Attack:
    live = world.present(profile="identity")
    good = live.respond().content
    assert good is not None
    return live.post(good + b"&state=" + live.request.state.encode())  # type: ignore[operator]


def invalid_utf8(world: World) -> Attack:
    return world.present(profile="identity").post(b"response=\xff\xfe\xfd")


def plain_vp_token(world: World) -> Attack:
    """The transaction asked for direct_post.jwt: an unencrypted vp_token is not accepted."""
    live = world.present(profile="identity")
    form = {"vp_token": json.dumps(live.vp_token), "state": live.request.state or ""}
    return live.post(form)


def jwe_for(world: World, **opts: object) -> Attack:
    live = world.present(profile="identity")
    body = {"vp_token": live.vp_token, "state": live.request.state}
    return live.encrypted(json.dumps(body).encode(), **opts)  # type: ignore[arg-type]


def other_transactions_key(world: World) -> Attack:
    """Encrypted (kid included) to another live transaction's key."""
    a, b = world.present(profile="identity"), world.present(profile="identity")
    body = {"vp_token": a.vp_token, "state": a.request.state}
    jwk = b.request.client_metadata["jwks"]["keys"][0]
    attack = a.post({"response": forge.jwe(json.dumps(body).encode(), jwk)})
    attack.watch.append(b.tx)
    return attack


def other_key_with_our_kid(world: World) -> Attack:
    a, b = world.present(profile="identity"), world.present(profile="identity")
    body = {"vp_token": a.vp_token, "state": a.request.state}
    ours = a.request.client_metadata["jwks"]["keys"][0]["kid"]
    jwk = b.request.client_metadata["jwks"]["keys"][0]
    attack = a.post({"response": forge.jwe(json.dumps(body).encode(), jwk, header={"kid": ours})})
    attack.watch.append(b.tx)
    return attack


def epk_off_curve(world: World) -> Attack:
    """Invalid-curve attack: an ephemeral key that is not a P-256 point."""
    point = forge.b64((1).to_bytes(32, "big"))
    epk = {"kty": "EC", "crv": "P-256", "x": point, "y": point}
    return jwe_for(world, header={"epk": epk})


def epk_other_curve(world: World) -> Attack:
    epk = {"kty": "EC", "crv": "P-384", "x": forge.b64(bytes(48)), "y": forge.b64(bytes(48))}
    return jwe_for(world, header={"epk": epk})


def plaintext(world: World, text: bytes) -> Attack:
    return world.present(profile="identity").encrypted(text)


def wrong_state(world: World) -> Attack:
    return world.present(profile="identity").respond(state="not-the-state", target=False)


def missing_state(world: World) -> Attack:
    return world.present(profile="identity").respond(state=None, target=False)


def state_of_other(world: World) -> Attack:
    a, b = world.present(profile="identity"), world.present(profile="identity")
    attack = a.respond(state=b.request.state, target=False)
    attack.watch.append(b.tx)
    return attack


def plain_error_without_state(world: World) -> Attack:
    live = world.present(profile="identity")
    return live.post({"error": "access_denied", "error_description": "no"})


def error_code_charset(world: World) -> Attack:
    return world.present(profile="identity").respond(
        vp_token=None, error='access_denied" onload="x', target=False
    )


def state_not_string(world: World) -> Attack:
    return world.present(profile="identity").respond(state=["a", "b"], target=False)


def nested(depth: int) -> bytes:
    return b'{"vp_token":' + b"[" * depth + b"]" * depth + b',"state":"x"}'


def _c(name: str, source: str, build: object, status: int, error: str, fragment: str) -> Case:
    return Case(name, source, build, Refused(status, error, fragment))  # type: ignore[arg-type]


def _jwe(name: str, source: str, fragment: str, **opts: object) -> Case:
    return _c(name, source, lambda w: jwe_for(w, **opts), BAD, "invalid_request", fragment)


def _plain(name: str, source: str, text: bytes, fragment: str) -> Case:
    return _c(name, source, lambda w: plaintext(w, text), BAD, "invalid_request", fragment)


CASES = [
    _c(
        "response_to_unknown_request",
        "digest §10 #13",
        unknown_request,
        404,
        "invalid_request",
        "unknown request",
    ),
    _c(
        "response_before_request_fetched",
        "digest §10 #13",
        before_fetch,
        BAD,
        "invalid_request",
        "never retrieved",
    ),
    _c("response_as_json", "digest §10 #11", json_body, 415, "invalid_request", "content type"),
    _c(
        "response_as_multipart", "digest §10 #11", multipart, 415, "invalid_request", "content type"
    ),
    _c(
        "response_as_text_plain",
        "digest §10 #11",
        text_plain,
        415,
        "invalid_request",
        "content type",
    ),
    _c(
        "response_body_over_limit",
        "OpenID4VP §8.2; AGENTVP_MAX_BODY_BYTES",
        oversized,
        413,
        "invalid_request",
        "exceeds",
    ),
    _c(
        "response_body_over_limit_chunked",
        "OpenID4VP §8.2; AGENTVP_MAX_BODY_BYTES",
        oversized_chunked,
        413,
        "invalid_request",
        "exceeds",
    ),
    _c(
        "response_field_repeated",
        "digest §10 #11; digest §9 duplicate keys",
        repeated_response,
        BAD,
        "invalid_request",
        "malformed_form",
    ),
    _c(
        "response_with_extra_state_field",
        "digest §10 #11",
        extra_field,
        BAD,
        "invalid_request",
        "malformed_jwe",
    ),
    _c(
        "response_form_invalid_utf8",
        "digest §10 #11",
        invalid_utf8,
        BAD,
        "invalid_request",
        "malformed_form",
    ),
    _c(
        "response_unencrypted_vp_token",
        "digest §10 #11; HAIP §5",
        plain_vp_token,
        BAD,
        "invalid_request",
        "malformed_jwe",
    ),
    _jwe("jwe_wrong_kid", "digest §10 #12", "malformed_jwe", header={"kid": "enc-not-ours"}),
    _jwe("jwe_without_kid", "digest §10 #12", "malformed_jwe", drop=("kid",)),
    _jwe(
        "jwe_alg_ecdh_es_a128kw",
        "digest §10 #12",
        "alg_not_allowed",
        header={"alg": "ECDH-ES+A128KW"},
    ),
    _jwe("jwe_alg_dir", "digest §10 #12", "alg_not_allowed", header={"alg": "dir"}),
    _jwe("jwe_alg_rsa_oaep", "digest §10 #12", "alg_not_allowed", header={"alg": "RSA-OAEP-256"}),
    _jwe("jwe_enc_a192gcm_not_offered", "digest §10 #12", "alg_not_allowed", enc="A192GCM"),
    _jwe("jwe_enc_cbc_hmac", "digest §10 #12", "alg_not_allowed", enc="A128CBC-HS256"),
    _jwe(
        "jwe_zip_deflate", "digest §10 #12; RFC 8725 §3.6", "malformed_jwe", header={"zip": "DEF"}
    ),
    _jwe("jwe_crit_header", "digest §10 #12", "malformed_jwe", header={"crit": ["exp"], "exp": 1}),
    _jwe("jwe_tag_tampered", "digest §10 #12", "jwe_decryption_failed", tamper_tag=True),
    _jwe(
        "jwe_with_encrypted_key", "digest §10 #12", "jwe_decryption_failed", encrypted_key=b"k" * 16
    ),
    _c(
        "jwe_epk_not_on_curve",
        "digest §10 #12; RFC 7516 invalid-curve",
        epk_off_curve,
        BAD,
        "invalid_request",
        "malformed_jwk",
    ),
    _c("jwe_epk_p384", "digest §10 #12", epk_other_curve, BAD, "invalid_request", "malformed_jwe"),
    _c(
        "jwe_encrypted_to_other_transaction",
        "digest §10 #12",
        other_transactions_key,
        BAD,
        "invalid_request",
        "malformed_jwe",
    ),
    _c(
        "jwe_other_transactions_key_our_kid",
        "digest §10 #12",
        other_key_with_our_kid,
        BAD,
        "invalid_request",
        "jwe_decryption_failed",
    ),
    _plain("jwe_payload_not_object", "digest §10 #11", b'["vp_token"]', "malformed_response"),
    _plain(
        "jwe_payload_duplicate_state",
        "digest §9 duplicate keys",
        b'{"vp_token":{},"state":"a","state":"b"}',
        "json_duplicate_key",
    ),
    _plain(
        "jwe_payload_invalid_utf8",
        "RFC 8259 §8.1",
        b'{"vp_token":{},"state":"\xff"}',
        "malformed_json",
    ),
    _plain(
        "jwe_payload_lone_surrogate",
        "RFC 8259 §8.2",
        b'{"vp_token":{},"state":"\\ud800"}',
        "malformed_json",
    ),
    _plain("jwe_payload_deeply_nested", "AGENTVP_MAX_JSON_DEPTH", nested(200), "json_too_deep"),
    _plain("jwe_payload_nan", "RFC 8259 §6", b'{"vp_token":NaN,"state":"x"}', "malformed_json"),
    _c(
        "state_wrong", "digest §10 #13", wrong_state, BAD, "invalid_request", "state does not match"
    ),
    _c(
        "state_missing",
        "digest §10 #2, #13",
        missing_state,
        BAD,
        "invalid_request",
        "state does not match",
    ),
    _c(
        "state_of_another_transaction",
        "digest §10 #2, #13",
        state_of_other,
        BAD,
        "invalid_request",
        "state does not match",
    ),
    _c(
        "state_not_a_string",
        "digest §10 #13",
        state_not_string,
        BAD,
        "invalid_request",
        "malformed_response",
    ),
    _c(
        "error_response_without_state",
        "digest §10 #16; OpenID4VP §8.3",
        plain_error_without_state,
        BAD,
        "invalid_request",
        "state does not match",
    ),
    _c(
        "error_code_outside_charset",
        "digest §10 #16; RFC 6749 §4.1.2.1",
        error_code_charset,
        BAD,
        "invalid_request",
        "malformed_response",
    ),
]
