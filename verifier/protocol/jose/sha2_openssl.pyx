# cython: language_level=3
"""base64url(SHA-2(data)) in one call, straight on OpenSSL's libcrypto: the digest of each SD-JWT
disclosure (RFC 9901 §4.2.3) and of the other texts :func:`.base64url.hash_b64` hashes (issue 20).

Compiled only (``make native``, with OpenSSL's headers: Debian ``libssl-dev``); there is no
Python twin. While it is not compiled, or not current (``verifier/native.py`` checks the hash of
this file), importing it fails and :mod:`.base64url` hashes through ``hashlib`` as before: the
same texts, only slower.

Why: through ``hashlib`` a digest is a copy of a ready hash object (a new ``EVP_MD_CTX`` and a
Python object), an ``update``, a ``digest()`` (a second context copy and a ``bytes``), then the
base64url encoder: ~0.5 us for a ~100-byte disclosure, most of it those objects. Here each
algorithm keeps one context, initialised again per call, and the 32/48/64 digest octets go
straight into the 43/64/86-character ``str``: ~0.2 us.

One context per algorithm, shared by every caller: each call runs from ``EVP_DigestInit_ex2`` to
``EVP_DigestFinal_ex`` without calling back into Python and without releasing the GIL, so no
other thread can reach the context in between. The output string is made after the digest is
final. A failure of any OpenSSL call (none is expected of a fetched SHA-2) clears the thread's
OpenSSL error queue and raises ``RuntimeError``; nothing is returned for it.

tests/unit/test_sha2_openssl.py holds it to ``hashlib`` and the Python encoder on random inputs.
"""

from cpython.unicode cimport PyUnicode_New

cdef extern from "Python.h":
    void *PyUnicode_DATA(object text)

cdef extern from "openssl/evp.h":
    ctypedef struct EVP_MD
    ctypedef struct EVP_MD_CTX
    EVP_MD *EVP_MD_fetch(void *libctx, const char *algorithm, const char *properties)
    void EVP_MD_free(EVP_MD *md)
    int EVP_MD_get_size(const EVP_MD *md)
    EVP_MD_CTX *EVP_MD_CTX_new()
    void EVP_MD_CTX_free(EVP_MD_CTX *ctx)
    int EVP_DigestInit_ex2(EVP_MD_CTX *ctx, const EVP_MD *md, const void *params)
    int EVP_DigestUpdate(EVP_MD_CTX *ctx, const void *data, size_t count)
    int EVP_DigestFinal_ex(EVP_MD_CTX *ctx, unsigned char *md, unsigned int *size)

cdef extern from "openssl/err.h":
    void ERR_clear_error()

cdef const char *ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

# IANA Named Information hash name -> OpenSSL's name and the digest's octets
ALGORITHMS = {
    "sha-256": (b"SHA2-256", 32),
    "sha-384": (b"SHA2-384", 48),
    "sha-512": (b"SHA2-512", 64),
}


cdef str _b64url(const unsigned char *octets, Py_ssize_t size):
    """Unpadded base64url of ``size`` octets, as an ASCII ``str``."""
    cdef str text = PyUnicode_New((size * 4 + 2) // 3, 127)
    cdef unsigned char *out = <unsigned char *>PyUnicode_DATA(text)
    cdef Py_ssize_t i = 0
    cdef Py_ssize_t j = 0
    cdef unsigned int word
    while i + 3 <= size:
        word = (octets[i] << 16) | (octets[i + 1] << 8) | octets[i + 2]
        out[j] = ALPHABET[word >> 18]
        out[j + 1] = ALPHABET[(word >> 12) & 63]
        out[j + 2] = ALPHABET[(word >> 6) & 63]
        out[j + 3] = ALPHABET[word & 63]
        i += 3
        j += 4
    if size - i == 1:
        word = octets[i] << 16
        out[j] = ALPHABET[word >> 18]
        out[j + 1] = ALPHABET[(word >> 12) & 63]
    elif size - i == 2:
        word = (octets[i] << 16) | (octets[i + 1] << 8)
        out[j] = ALPHABET[word >> 18]
        out[j + 1] = ALPHABET[(word >> 12) & 63]
        out[j + 2] = ALPHABET[(word >> 6) & 63]
    return text


cdef class Digest:
    """One SHA-2 algorithm, fetched once, with the one context its calls share."""

    cdef EVP_MD *md
    cdef EVP_MD_CTX *ctx
    cdef readonly Py_ssize_t size

    def __cinit__(self, str alg not None):
        spec = ALGORITHMS.get(alg)
        if spec is None:
            raise ValueError(f"unsupported hash algorithm {alg!r}")
        cdef bytes openssl_name = spec[0]
        self.size = spec[1]
        self.md = EVP_MD_fetch(NULL, openssl_name, NULL)
        self.ctx = EVP_MD_CTX_new()
        if self.md == NULL or self.ctx == NULL or EVP_MD_get_size(self.md) != self.size:
            ERR_clear_error()
            raise RuntimeError(f"OpenSSL has no usable {alg}")

    def __dealloc__(self):
        if self.ctx != NULL:
            EVP_MD_CTX_free(self.ctx)
        if self.md != NULL:
            EVP_MD_free(self.md)

    def b64url(self, bytes data not None) -> str:
        """base64url (unpadded) of this algorithm's digest of ``data``."""
        cdef unsigned char octets[64]
        cdef unsigned int size = 0
        cdef const unsigned char *raw = data
        if (
            EVP_DigestInit_ex2(self.ctx, self.md, NULL) != 1
            or EVP_DigestUpdate(self.ctx, raw, <size_t>len(data)) != 1
            or EVP_DigestFinal_ex(self.ctx, octets, &size) != 1
            or size != self.size
        ):
            ERR_clear_error()
            raise RuntimeError("OpenSSL could not compute a digest")
        return _b64url(octets, size)


DIGESTS = {alg: Digest(alg) for alg in ALGORITHMS}
