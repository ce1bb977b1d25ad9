"""agentvp: an OpenID4VP 1.0 verifier for AI-agent mandates and verified human identity.

One package per capability; read a folder's ``__init__`` for what it is for and what it may
import. :mod:`verifier.protocol` is the pure protocol library (imports nothing else of
``verifier``); the capability packages (:mod:`.presentations`, :mod:`.agents`, :mod:`.oauth`,
:mod:`.policy`, :mod:`.store`, :mod:`.ops`, :mod:`.setup`, :mod:`.resource`) import the protocol
and each other, never :mod:`.routes`; :mod:`.routes` and :mod:`.app` are the HTTP edge (the only
importers of FastAPI besides :mod:`.resource`); :mod:`.cli` and :mod:`.demo` drive it all.
"""

__version__ = "0.1.0"

from . import native as _native

_native.install()  # compiled protocol modules, only while current (verifier/native.py)
