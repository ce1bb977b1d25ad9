"""agentvp as an OAuth authorization server for resource servers (MCP servers, APIs).

:mod:`.agent_grant` is the agent-verification grant: an agent asks for access to a resource
for one action, proves its key with DPoP, and receives an audience-restricted, DPoP-bound access
token once its agent verification allows. May import :mod:`verifier.protocol`,
:mod:`verifier.policy`, :mod:`verifier.agents`, :mod:`verifier.presentations`,
:mod:`verifier.resource` (token checks), :mod:`verifier.store` and :mod:`verifier.errors`; never
the HTTP layer.
"""
