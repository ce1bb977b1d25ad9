"""Agent verifications: may this agent do this, for whom, and is that person who they say?

:mod:`.verifications` runs one verification (the agent's mandate presentation, the human's
step-up, the exactly-once decision); :mod:`.step_up_dc_api` asks the human over the Digital
Credentials API instead of by QR code; :mod:`.counters` holds a mandate's uses and spend across
instances; :mod:`.receipts` signs decisions (:mod:`.receipt_keys`: which keys check one);
:mod:`.audit` hash-chains what happened;
:mod:`.revalidation` asks whether a mandate verified earlier is still good now. May import
:mod:`verifier.protocol`, :mod:`verifier.policy`, :mod:`verifier.presentations`,
:mod:`verifier.store`, :mod:`verifier.ops` and :mod:`verifier.errors`; never the HTTP layer.
"""
