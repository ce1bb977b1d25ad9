# Types of the compiled-only sha2_openssl.pyx (no Python twin: importing it fails while it is
# not built and current, and base64url.py then hashes through hashlib).

ALGORITHMS: dict[str, tuple[bytes, int]]

class Digest:
    size: int
    def __init__(self, alg: str) -> None: ...
    def b64url(self, data: bytes) -> str: ...

DIGESTS: dict[str, Digest]
