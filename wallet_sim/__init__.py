"""The wallet simulator: simulated issuers, the person's wallet, the agent's holder, the
command line (``wallet-sim``) and the wallet page.

It plays every party the verifier talks to, over real HTTP, and imports nothing of the verifier
but the pure protocol library :mod:`verifier.protocol` (a test enforces it).
"""
