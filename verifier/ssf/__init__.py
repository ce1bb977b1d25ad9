"""The Shared Signals Framework 1.0 transmitter: tell resources when an agent's authority is gone.

:mod:`.events` builds and signs Security Event Tokens (RFC 8417) with the CAEP 1.0 events and SSF
subject formats; :mod:`.streams` manages event streams (SSF §8.1) per receiver; :mod:`.transmitter`
puts each event once on every stream that wants it, delivered by push (:mod:`.push`, RFC 8935) or
poll (RFC 8936); :mod:`.watcher` re-checks live grants' status lists and emits on revocation.
May import :mod:`verifier.protocol`, :mod:`verifier.policy`, :mod:`verifier.presentations`,
:mod:`verifier.agents`, :mod:`verifier.store`, :mod:`verifier.ops` and :mod:`verifier.errors`;
never the HTTP layer.
"""
