"""Compiled copies of the per-presentation protocol modules, used only while they are current.

``pip install`` compiles the modules in :data:`NATIVE_MODULES` with Cython (``setup.py``) into
``verifier/_native/`` - the same Python source, the same checks and errors, run without the
bytecode interpreter (a quarter less of the time besides the signature checks,
docs/PERFORMANCE.md). A module may have an augmenting ``.pxd`` beside it: Cython type
declarations for the compiled build, which Python ignores. Each compiled module lies beside a
``.sha256`` file: the hash of the source it was built from (the ``.py`` and its ``.pxd``).

:func:`install` (run by ``verifier/__init__``) puts a finder in front of the import system that
loads a listed module from its compiled copy only if that hash equals the hash of the ``.py``
file (and its ``.pxd``) as it is now. An edited, checked-out or patched source therefore
always runs as Python; the compiled copy is never preferred over the code a reader sees
(``agentvp serve`` logs how many modules run compiled and why the others do not; ``make
native`` rebuilds them). No compiler at install time, or ``AGENTVP_NATIVE=0`` in the
environment, means every module runs as Python: the same results, only slower.

:data:`BINDINGS` are compiled the same way from a Cython ``.pyx`` that has no Python twin (the
OpenSSL bindings: ECDSA verification, SHA-2 digests in base64url): while one is not current,
importing it fails and its caller takes the Python path it stands in front of.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

# Module names (dotted, under ``verifier``) compiled by setup.py. Only the pure protocol
# library's per-presentation path: no pydantic model or FastAPI signature lives here.
NATIVE_MODULES: tuple[str, ...] = (
    "verifier.protocol.jsonutil",
    "verifier.protocol.jsonscan",
    "verifier.protocol.jsonfast",
    "verifier.protocol.jose.b64codec",
    "verifier.protocol.jose.base64url",
    "verifier.protocol.jose.jws",
    "verifier.protocol.jose.jwk",
    "verifier.protocol.jose.jwe",
    "verifier.protocol.sdjwt.disclosures",
    "verifier.protocol.sdjwt.layout",
    "verifier.protocol.sdjwt.kb_jwt",
    "verifier.protocol.sdjwt.vc",
    "verifier.protocol.dcql.claims_path",
    "verifier.protocol.dcql.match",
    "verifier.protocol.oid4vp.vp_token",
    "verifier.protocol.oid4vp.response",
)

# Compiled-only modules: a Cython source (``.pyx``) with no Python twin. The same build, stamp
# and check as above; while one is not compiled and current, importing it fails and its caller
# takes the Python path it stands in front of (the same answers, only slower).
BINDINGS: tuple[str, ...] = (  # both need OpenSSL's headers (Debian libssl-dev)
    "verifier.protocol.jose.ecdsa_openssl",
    "verifier.protocol.jose.sha2_openssl",
)

ENV_SWITCH = "AGENTVP_NATIVE"  # "0" (or "false", "no", "off"): run everything as Python
_ROOT = Path(__file__).resolve().parent  # the ``verifier`` package directory


@dataclass(frozen=True, slots=True)
class ModuleState:
    """How one listed module runs: ``native``, or ``python`` with the reason."""

    name: str
    mode: str
    reason: str


def source_path(name: str, root: Path = _ROOT) -> Path:
    """The source of a listed module (``root``: the ``verifier`` package directory): its
    ``.py`` file, or the ``.pyx`` of one of the :data:`BINDINGS`."""
    suffix = ".pyx" if name in BINDINGS else ".py"
    return root.joinpath(*name.split(".")[1:]).with_suffix(suffix)


def load_as_python(name: str) -> ModuleType:
    """A separate copy of the listed module ``name``, run from its ``.py`` source whatever the
    import system gives for ``name`` (tests hold the compiled build to the Python one)."""
    spec = importlib.util.spec_from_file_location(f"{name}__as_python", source_path(name))
    if spec is None or spec.loader is None:
        raise ImportError(f"no source for {name}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def compiled_path(name: str, root: Path = _ROOT) -> Path | None:
    """The compiled copy of a listed module, if one was built for this interpreter."""
    base = root.joinpath("_native", *name.split(".")[1:])
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        candidate = base.with_name(base.name + suffix)
        if candidate.is_file():
            return candidate
    return None


def hash_path(name: str, root: Path = _ROOT) -> Path:
    """Where the build records the hash of the source it compiled."""
    base = root.joinpath("_native", *name.split(".")[1:])
    return base.with_name(base.name + ".sha256")


def source_hash(path: Path) -> str:
    """SHA-256 of what a module is compiled from: its ``.py`` file and, if there is one, the
    augmenting ``.pxd`` beside it (Cython's type declarations). setup.py computes the same."""
    digest = hashlib.sha256(path.read_bytes())
    pxd = path.with_suffix(".pxd")
    if pxd.is_file():
        digest.update(b"\0.pxd\0")
        digest.update(pxd.read_bytes())
    return digest.hexdigest()


def _switched_off() -> bool:
    return os.environ.get(ENV_SWITCH, "1").strip().lower() in {"0", "false", "no", "off"}


def module_state(name: str, root: Path = _ROOT) -> ModuleState:
    """Decide, without importing anything, whether ``name`` would load compiled."""
    if _switched_off():
        return ModuleState(name, "python", f"{ENV_SWITCH}=0")
    compiled = compiled_path(name, root)
    if compiled is None:
        return ModuleState(name, "python", "not compiled (make native)")
    try:
        built_from = hash_path(name, root).read_text(encoding="ascii").strip()
        current = source_hash(source_path(name, root))
    except (OSError, UnicodeDecodeError):
        return ModuleState(name, "python", "no source hash beside the compiled copy")
    if built_from != current:
        return ModuleState(name, "python", "source changed since compiled (make native)")
    return ModuleState(name, "native", str(compiled))


class _CurrentNativeFinder(importlib.abc.MetaPathFinder):
    """Finds listed modules in ``verifier/_native`` when their compiled copy is current."""

    def __init__(self) -> None:
        self.states: dict[str, ModuleState] = {}

    def find_spec(
        self,
        fullname: str,
        path: object = None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _LISTED:
            return None
        state = module_state(fullname)
        self.states[fullname] = state
        if state.mode != "native":
            return None  # the normal finders load the .py file
        location = state.reason
        loader = importlib.machinery.ExtensionFileLoader(fullname, location)
        return importlib.util.spec_from_file_location(fullname, location, loader=loader)


_LISTED = frozenset(NATIVE_MODULES + BINDINGS)
_FINDER = _CurrentNativeFinder()


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (idempotent)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.insert(0, _FINDER)


def loaded_states() -> list[ModuleState]:
    """How each listed module runs in this process (decided now for those not yet imported)."""
    out = []
    for name in NATIVE_MODULES:
        module = sys.modules.get(name)
        if module is None:
            out.append(_FINDER.states.get(name) or module_state(name))
            continue
        spec = getattr(module, "__spec__", None)
        loader = getattr(spec, "loader", None)
        is_native = isinstance(loader, importlib.machinery.ExtensionFileLoader)
        out.append(
            ModuleState(name, "native", str(module.__file__))
            if is_native
            else _FINDER.states.get(name, ModuleState(name, "python", "loaded as Python"))
        )
    return out


def binding_states() -> list[ModuleState]:
    """How each of the :data:`BINDINGS` runs in this process (decided now for those not yet
    imported): ``native``, or ``python`` with the reason, meaning its caller's Python path."""
    out = []
    for name in BINDINGS:
        module = sys.modules.get(name)
        found = _FINDER.states.get(name)  # set when an import of it was attempted
        if module is not None:  # no Python twin: imported means compiled
            out.append(ModuleState(name, "native", str(module.__file__)))
        elif found is not None and found.mode == "native":  # found, but its import raised
            out.append(ModuleState(name, "python", "compiled, but its import failed"))
        else:
            out.append(found or module_state(name))
    return out


def summary(states: list[ModuleState], bindings: list[ModuleState] | None = None) -> str:
    """One line: how many listed modules run compiled, and why the others do not; with
    ``bindings`` (:func:`binding_states`), the same for the compiled-only modules."""
    native = sum(state.mode == "native" for state in states)
    line = f"native protocol modules: {native} of {len(states)} compiled"
    reasons: dict[str, list[str]] = {}
    for state in states:
        if state.mode != "native":
            reasons.setdefault(state.reason, []).append(state.name.rsplit(".", 1)[-1])
    for reason, names in reasons.items():
        line += f"; {', '.join(names)}: {reason}"
    for state in bindings or ():
        short = state.name.rsplit(".", 1)[-1]
        line += f"; {short}: {'compiled' if state.mode == 'native' else state.reason}"
    return line
