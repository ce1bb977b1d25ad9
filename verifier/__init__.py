"""agentvp: an OpenID4VP 1.0 verifier for AI-agent mandates and verified human identity."""

__version__ = "0.1.0"
