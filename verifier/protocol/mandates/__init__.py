"""Agent mandates: what a mandate authorises, checked the same way by the verifier and by the
agent holder before it signs.

:mod:`.authority` (agentvp's native mandate: actions, constraints, limits - the evaluation),
:mod:`.constraints` (its constraints and ``delegation`` read strictly into typed values),
:mod:`.restrictions` (restrictive elements must be in clear, judged from the presentation's
disclosure layout), :mod:`.reasons` (why a rule failed). Part of the pure protocol library:
imports only other :mod:`verifier.protocol` modules.
"""
