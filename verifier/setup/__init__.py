"""Setting agentvp up: ``agentvp init`` and what it writes, the verifier's keys, config docs.

:mod:`.data_dir` writes a working development data dir (keys, dev CA, trust, policies,
presets); :mod:`.keys` loads the verifier's signing key, certificate chain and client_id from
it; :mod:`.config_docs` renders ``docs/CONFIGURATION.md`` from the settings model. May import
:mod:`verifier.protocol` and :mod:`verifier.settings`; never the HTTP layer.
"""
