"""SD-JWT (RFC 9901) and SD-JWT VC.

:mod:`.disclosures` (compact serialisation, disclosures, digests, payload reconstruction),
:mod:`.layout` (where a presentation's disclosures were, and where digests stay undisclosed),
:mod:`.kb_jwt` (key-binding JWTs with transaction data), :mod:`.vc` (one SD-JWT VC
presentation verified end to end, in the processing order of the digest). Part of the pure
protocol library: imports only other :mod:`verifier.protocol` modules.
"""
