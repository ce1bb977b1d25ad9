"""The AuthZEN Authorization API 1.0 policy decision point over agentvp's grants.

A policy enforcement point (an MCP server, an API gateway, a shop) asks per call "may this
subject do this action on this resource now?" and gets ``{decision, context}``:
:mod:`.requests` parses evaluations and batches, :mod:`.subjects` finds the grant a subject names
(access tokens, agent verifications, mandates), :mod:`.pdp` decides with the agent verification
rules, :mod:`.wiring` builds it. May import :mod:`verifier.protocol`, :mod:`verifier.policy`,
:mod:`verifier.presentations`, :mod:`verifier.agents`, :mod:`verifier.resource` (token checks),
:mod:`verifier.store`, :mod:`verifier.settings` and :mod:`verifier.errors`; never the HTTP layer.
"""
