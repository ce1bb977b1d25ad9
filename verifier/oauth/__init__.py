"""agentvp as an OAuth authorization server for resource servers (MCP servers, APIs).

:mod:`.agent_grant` is the agent-verification grant: an agent asks for access to a resource
for one action, proves its key with DPoP, and receives an audience-restricted, DPoP-bound access
token once its agent verification allows. :mod:`.agent_introspection` answers RFC 7662 for
those tokens; :mod:`.errors` (the OAuth error response) and :mod:`.dpop_proofs` (DPoP proofs at
agentvp's own endpoints) serve every grant.

The wallet login is the front-channel flow of MCP authorization: :mod:`.clients` (RFC 7591
registration, Client ID Metadata Documents, RFC 8252 redirect rules), :mod:`.login`
(``/oauth/authorize``: PKCE, ``resource``, the OpenID4VP presentation that logs the person in,
authorization codes), :mod:`.code_grant` (the ``authorization_code`` and ``refresh_token``
grants: rotation, reuse detection, Bearer or DPoP-bound ``at+jwt`` tokens) and :mod:`.server`
(RFC 8414 metadata of the whole server). May import :mod:`verifier.protocol`,
:mod:`verifier.policy`, :mod:`verifier.agents`, :mod:`verifier.presentations`,
:mod:`verifier.resource` (token checks), :mod:`verifier.store` and :mod:`verifier.errors`; never
the HTTP layer.
"""
