"""A pytest plugin (``-p tests.native_off``, with ``AGENTVP_NATIVE=0``) for the fallback run of
tests/unit/test_native.py: imports every module verifier/native.py lists, as Python, before the
suite's conftest sets the shell's ``AGENTVP_*`` settings aside, and refuses to go on otherwise."""

from __future__ import annotations

import importlib
import importlib.machinery
import importlib.util

from verifier import native

for _name in native.NATIVE_MODULES:
    _loader = importlib.import_module(_name).__spec__.loader
    if not isinstance(_loader, importlib.machinery.SourceFileLoader):
        raise RuntimeError(f"{_name} is not running as Python ({_loader!r}): AGENTVP_NATIVE=0?")

for _name in native.BINDINGS:  # compiled only: importing one must fail, its caller's Python runs
    if importlib.util.find_spec(_name) is not None:
        raise RuntimeError(f"{_name} is importable: AGENTVP_NATIVE=0?")
