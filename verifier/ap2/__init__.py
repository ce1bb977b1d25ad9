"""AP2 v0.2 verifications: challenges, mandate chains, constraints, usage state, receipts.

:mod:`.challenges` issues single-use ``{nonce, aud}`` challenges; :mod:`.service` verifies a
presented chain (:mod:`verifier.protocol.sdjwt.delegation`) and its mandates
(:mod:`verifier.protocol.mandates.ap2`) under a named AP2 policy (:mod:`verifier.policy.ap2`),
checks the root credential's status, counts budget and occurrences atomically
(:mod:`.usage`), appends audit events and signs the AP2 receipt (:mod:`.receipts`).

May import ``verifier.protocol``, ``verifier.store``, ``verifier.policy``, ``verifier.agents``
(audit chain) and ``verifier.presentations`` (status checking hook); never ``routes/``.
"""
