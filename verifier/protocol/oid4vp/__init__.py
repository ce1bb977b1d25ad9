"""OpenID4VP 1.0 (with SIOPv2 where it combines with it).

:mod:`.request` (authorization requests, client identifier prefixes, request objects as the
verifier builds them), :mod:`.wallet_request` (the wallet's verification of a request object),
:mod:`.response` (``direct_post`` and ``direct_post.jwt``), :mod:`.vp_token` (a whole
``vp_token`` against its query and transaction data), :mod:`.siop` (self-issued ID tokens),
:mod:`.dc_api` and :mod:`.dc_api_wallet` (the Digital Credentials API, Appendix A). Part
of the pure protocol library: imports only other :mod:`verifier.protocol` modules.
"""
