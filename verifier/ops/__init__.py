"""Running the service: metrics, logs, webhooks, rate limits and outbound fetching.

:mod:`.metrics` (Prometheus), :mod:`.logs` (JSON or text lines, the access log as plain ASGI
middleware), :mod:`.webhooks` (signed callbacks through the store's durable queue),
:mod:`.rate_limit` (per-client limits), :mod:`.fetch` (``SafeFetcher``: every outbound request,
bounded and refusing private addresses). May import :mod:`verifier.protocol` and
:mod:`verifier.store`; no web framework and nothing of the capability packages.
"""
