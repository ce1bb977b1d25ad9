"""Setting agentvp up: ``agentvp init`` and what it writes, the verifier's keys, config docs.

:mod:`.data_dir` writes a working development data dir (keys, dev CA, trust, policies,
presets); :mod:`.keys` loads the verifier's signing key, certificate chain and client_id from
it; :mod:`.config_docs` renders ``docs/CONFIGURATION.md`` from the settings model;
:mod:`.startup` checks what ``agentvp serve`` and ``agentvp demo`` need before they listen
(settings, where to listen, a free port), each failure one line. May import
:mod:`verifier.protocol`, :mod:`verifier.settings` and :mod:`verifier.config_files`; never the
HTTP layer.
"""
