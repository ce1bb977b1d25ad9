"""The OpenID4VP presentation lifecycle: create, serve the request, receive the response,
verify, decide, publish.

:mod:`.service` is the framework-free lifecycle over the store (:mod:`.config` its
settings); :mod:`.create` the relying
party's request body; :mod:`.dc_api` the Digital Credentials API flow (the browser's request and
answer); :mod:`.results` how a verified credential is reported; :mod:`.status` the
status-check hook (implemented in :mod:`verifier.policy.status_check`); :mod:`.qr` the QR codes
of cross-device requests. May import :mod:`verifier.protocol`, :mod:`verifier.store`,
:mod:`verifier.ops` and :mod:`verifier.errors`; never :mod:`verifier.policy` (trust arrives as
injected resolvers) and never the HTTP layer.
"""
