"""DCQL, the Digital Credentials Query Language (OpenID4VP 1.0 §6, §7).

:mod:`.query` (the query models and the verifier's checks), :mod:`.match` (the wallet's
minimal-disclosure selection), :mod:`.claims_path` (claims path pointers). Part of the pure
protocol library: imports only other :mod:`verifier.protocol` modules.
"""
