"""X.509 as JOSE carries it: :mod:`.chain` validates ``x5c`` chains to configured trust
anchors and computes ``x509_hash`` client identifiers; :mod:`.devpki` makes a small PKI for
tests and development (keys in, certificates out). Part of the pure protocol library: imports
only other :mod:`verifier.protocol` modules.
"""
