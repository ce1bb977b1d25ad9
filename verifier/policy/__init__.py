"""The relying party's decisions over verified credentials.

Trust (:mod:`.trust`: issuers by JWKS, x5c anchors or jwt-vc-issuer metadata, per ``vct``),
status lists (:mod:`.status_check`), named DCQL presets and the policy file (:mod:`.presets`),
agent policies (:mod:`.rules`), the mandate and identity rules (:mod:`.mandate`,
:mod:`.identity`), the queries they ask with (:mod:`.queries`), and which policy protects which
resource (:mod:`.resources`). May import :mod:`verifier.protocol`, :mod:`verifier.ops` (fetching),
:mod:`verifier.store` and :mod:`verifier.config_files` (reading its files); never the HTTP layer.
"""
