"""Running the service: metrics, logs, webhooks, rate limits and outbound fetching.

:mod:`.metrics` (Prometheus), :mod:`.logs` (JSON or text lines, the access log as plain ASGI
middleware), :mod:`.webhooks` (signed callbacks through the store's durable queue),
:mod:`.rate_limit` (per-client limits), :mod:`.fetch` (``SafeFetcher``: every outbound request,
bounded and refusing private addresses), :mod:`.callbacks` (the same rules, asked of a
``callback_url`` when it is given). May import :mod:`verifier.protocol` and
:mod:`verifier.store`; no web framework and nothing of the capability packages.
"""
