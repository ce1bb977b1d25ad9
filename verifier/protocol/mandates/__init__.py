"""Agent mandates: what a mandate authorises, checked the same way by the verifier and by the
agent holder before it signs.

:mod:`.authority` (agentvp's native mandate: actions, constraints, limits). Part of the pure
protocol library: imports only other :mod:`verifier.protocol` modules.
"""
