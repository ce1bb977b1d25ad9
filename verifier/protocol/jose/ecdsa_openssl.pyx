# cython: language_level=3
"""ECDSA verification (P-256, P-384, P-521) straight on OpenSSL's libcrypto, for the ES256/384/512
signature checks of :class:`~.jwk.PublicKey` (issue 20).

Compiled only (``make native``, with OpenSSL's headers: Debian ``libssl-dev``); there is no
Python twin. While it is not compiled, or not current (``verifier/native.py`` checks the hash
of this file as it does for the compiled protocol modules), importing it fails and
:mod:`.jwk` verifies through ``cryptography`` as before: the same answers, only slower.

Why: ``cryptography`` sets up a fresh ``EVP_PKEY_CTX`` for every check (an algorithm fetch
through OpenSSL's provider tables) and decodes a DER signature. Here the key is an ``EC_KEY``
made once per parsed JWK, and each check is one ``ECDSA_do_verify`` on ``r`` and ``s`` as they
are: ~4 us less per signature, and, measured in ``bench/verify.py``, about half of what the
provider path costs the Python code that runs after it (docs/PERFORMANCE.md, round 16).

What is checked, and where:
- the public point, when the key is made: coordinates below the field prime, on the curve
  (affine coordinates cannot name the point at infinity, and with cofactor 1 every other point
  has the group's order); a failure is ``ValueError``;
- the signature: exactly twice the coordinate size, else False without a call;
- the digest: exactly the size of the curve's JOSE hash (SHA-256/384/512), else False:
  ``ECDSA_do_verify`` itself would take any length;
- ``r`` and ``s`` in ``[1, n-1]`` and the equation: ``ECDSA_do_verify``; only its 1 is a valid
  signature (0 is a bad signature, -1 an error: both False). Whatever it leaves on the
  thread's OpenSSL error queue (shared with ``hashlib`` and ``ssl``) is cleared.

The libcrypto is the system's (the one ``hashlib`` loads), linked at build time.
tests/unit/test_ecdsa_openssl.py holds it to ``cryptography`` on Wycheproof's vectors and on
random and mutated signatures.
"""

cdef extern from "openssl/bn.h":
    ctypedef struct BIGNUM
    BIGNUM *BN_bin2bn(const unsigned char *s, int len, BIGNUM *ret)
    void BN_free(BIGNUM *a)
    int BN_cmp(const BIGNUM *a, const BIGNUM *b)

cdef extern from "openssl/ec.h":
    ctypedef struct EC_KEY
    ctypedef struct EC_GROUP
    ctypedef struct EC_POINT
    ctypedef struct BN_CTX
    EC_KEY *EC_KEY_new()
    void EC_KEY_free(EC_KEY *key)
    int EC_KEY_set_group(EC_KEY *key, const EC_GROUP *group)
    EC_GROUP *EC_GROUP_new_by_curve_name(int nid)
    void EC_GROUP_free(EC_GROUP *group)
    const EC_GROUP *EC_KEY_get0_group(const EC_KEY *key)
    int EC_KEY_set_public_key(EC_KEY *key, const EC_POINT *pub)
    const BIGNUM *EC_GROUP_get0_field(const EC_GROUP *group)
    EC_POINT *EC_POINT_new(const EC_GROUP *group)
    void EC_POINT_free(EC_POINT *point)
    int EC_POINT_set_affine_coordinates(const EC_GROUP *group, EC_POINT *p, const BIGNUM *x,
                                        const BIGNUM *y, BN_CTX *ctx)
    int EC_POINT_is_on_curve(const EC_GROUP *group, const EC_POINT *point, BN_CTX *ctx)

cdef extern from "openssl/ecdsa.h":
    ctypedef struct ECDSA_SIG
    ECDSA_SIG *ECDSA_SIG_new()
    void ECDSA_SIG_free(ECDSA_SIG *sig)
    int ECDSA_SIG_set0(ECDSA_SIG *sig, BIGNUM *r, BIGNUM *s)
    int ECDSA_do_verify(const unsigned char *dgst, int dgst_len, const ECDSA_SIG *sig,
                        EC_KEY *eckey)

cdef extern from "openssl/err.h":
    void ERR_clear_error()

cdef extern from "openssl/obj_mac.h":
    int NID_X9_62_prime256v1
    int NID_secp384r1
    int NID_secp521r1

# JWK crv -> (OpenSSL curve, coordinate octets, octets of the JOSE hash: ES256/384/512)
CURVES = {
    "P-256": (NID_X9_62_prime256v1, 32, 32),
    "P-384": (NID_secp384r1, 48, 48),
    "P-521": (NID_secp521r1, 66, 64),
}


cdef class _Curve:
    """One curve's group, built once (~10 us): each key gets a copy of it (~1 us)."""

    cdef EC_GROUP *group

    def __cinit__(self, int nid):
        self.group = EC_GROUP_new_by_curve_name(nid)
        if self.group == NULL:
            ERR_clear_error()
            raise RuntimeError(f"OpenSSL has no curve {nid}")

    def __dealloc__(self):
        if self.group != NULL:
            EC_GROUP_free(self.group)


_GROUPS = {crv: _Curve(nid) for crv, (nid, _, _) in CURVES.items()}


cdef class ECVerifyKey:
    """One EC public key, checked and held by OpenSSL, that verifies raw ``r||s`` signatures
    over a digest."""

    cdef EC_KEY *key
    cdef readonly Py_ssize_t size
    cdef readonly Py_ssize_t digest_size

    def __cinit__(self, str crv not None, bytes x not None, bytes y not None):
        spec = CURVES.get(crv)
        if spec is None:
            raise ValueError(f"unsupported curve {crv!r}")
        _, self.size, self.digest_size = spec
        cdef _Curve curve = _GROUPS[crv]
        if len(x) != self.size or len(y) != self.size:
            raise ValueError(f"{crv} coordinates must be {self.size} octets each")
        cdef BIGNUM *bx = BN_bin2bn(x, <int>self.size, NULL)
        cdef BIGNUM *by = BN_bin2bn(y, <int>self.size, NULL)
        self.key = EC_KEY_new()
        cdef const EC_GROUP *group = NULL
        cdef EC_POINT *point = NULL
        cdef int ok = (
            bx != NULL and by != NULL and self.key != NULL
            and EC_KEY_set_group(self.key, curve.group) == 1  # a copy of the curve's group
        )
        if ok:
            group = EC_KEY_get0_group(self.key)
            point = EC_POINT_new(group)
            ok = (
                point != NULL
                # field elements: below the prime (no reduction of a larger value)
                and BN_cmp(bx, EC_GROUP_get0_field(group)) < 0
                and BN_cmp(by, EC_GROUP_get0_field(group)) < 0
                # on the curve (set_affine_coordinates checks it too); affine coordinates
                # cannot name the point at infinity; the three curves have cofactor 1, so
                # every other point has the group's order (EC_KEY_check_key's n*Q, a whole
                # scalar multiplication, would add nothing: 60 us of 65 per key)
                and EC_POINT_set_affine_coordinates(group, point, bx, by, NULL) == 1
                and EC_POINT_is_on_curve(group, point, NULL) == 1
                and EC_KEY_set_public_key(self.key, point) == 1
            )
        EC_POINT_free(point)
        BN_free(bx)
        BN_free(by)
        if not ok:
            ERR_clear_error()
            raise ValueError(f"not a valid {crv} public point")

    def __dealloc__(self):
        if self.key != NULL:
            EC_KEY_free(self.key)

    def __copy__(self):  # immutable, like cryptography's keys: a copy is the key itself
        return self

    def __deepcopy__(self, memo):
        return self

    def verify(self, bytes digest not None, bytes signature not None) -> bool:
        """True only when ``signature`` (``r||s``) is valid for ``digest`` under this key."""
        if len(signature) != 2 * self.size or len(digest) != self.digest_size:
            return False
        cdef const unsigned char *raw = signature
        cdef BIGNUM *r = BN_bin2bn(raw, <int>self.size, NULL)
        cdef BIGNUM *s = BN_bin2bn(raw + self.size, <int>self.size, NULL)
        cdef ECDSA_SIG *sig = ECDSA_SIG_new()
        if r == NULL or s == NULL or sig == NULL or ECDSA_SIG_set0(sig, r, s) != 1:
            BN_free(r)
            BN_free(s)
            ECDSA_SIG_free(sig)
            ERR_clear_error()
            raise MemoryError("OpenSSL could not hold a signature")
        cdef int result = ECDSA_do_verify(digest, <int>self.digest_size, sig, self.key)
        ECDSA_SIG_free(sig)  # frees r and s, which it owns since set0
        if result != 1:
            ERR_clear_error()
            return False
        return True
