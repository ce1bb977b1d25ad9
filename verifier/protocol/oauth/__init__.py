"""OAuth for agents at resource servers: DPoP proofs (RFC 9449) in :mod:`.dpop`, and the
access-token vocabulary the authorization server, the agent and the resource share (RFC 9068
claims, RFC 9396 ``authorization_details``, tool bindings) in :mod:`.access_token`. Part of the
pure protocol library: imports only other :mod:`verifier.protocol` modules.
"""
