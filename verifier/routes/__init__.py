"""The HTTP layer: one thin module per API, turning requests into calls of the capability
packages and their results into JSON (errors as ``{"error", "error_description"}``).

:mod:`.rp_api` (relying-party API), :mod:`.wallet_api` (wallet-facing endpoints),
:mod:`.agent_api`, :mod:`.oauth`, :mod:`.ops` (health, metrics), :mod:`.web` and
:mod:`.web_agent` (demo pages), :mod:`.deps` (shared dependencies), :mod:`.openapi` (response
documentation), :mod:`.errors` (every error's shape), :mod:`.body_limit` (the 413). The only
package besides :mod:`verifier.app` and :mod:`verifier.resource` that imports FastAPI; it may
import every capability package, and none of them imports it.
"""
