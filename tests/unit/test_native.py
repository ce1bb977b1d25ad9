"""The compiled protocol modules (verifier/native.py, setup.py): used only while current.

In CI every listed module must run compiled (the gate measures and tests what ships); the
pure-Python fallback - no compiler, ``AGENTVP_NATIVE=0``, or a source edited since the build -
must pass the protocol suites on its own.
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.machinery
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from verifier import native

ROOT = Path(__file__).resolve().parents[2]
NAME = "verifier.protocol.sdjwt.disclosures"
PYTEST = (sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider")


def _fake_build(root: Path, source: bytes, *, stamp: bytes | None = None) -> Path:
    """A ``verifier`` tree in ``root`` with NAME's source and a (dummy) compiled copy."""
    src = native.source_path(NAME, root)
    src.parent.mkdir(parents=True)
    src.write_bytes(source)
    compiled = root.joinpath("_native", "protocol", "sdjwt", "disclosures")
    compiled = compiled.with_name("disclosures" + importlib.machinery.EXTENSION_SUFFIXES[0])
    compiled.parent.mkdir(parents=True)
    compiled.write_bytes(b"\x7fELF")
    digest = hashlib.sha256(stamp if stamp is not None else source).hexdigest()
    native.hash_path(NAME, root).write_text(digest + "\n", "ascii")
    return compiled


def test_current_compiled_copy_is_chosen(tmp_path: Path) -> None:
    compiled = _fake_build(tmp_path, b"X = 1\n")
    state = native.module_state(NAME, tmp_path)
    assert (state.mode, state.reason) == ("native", str(compiled))


def test_edited_source_runs_as_python(tmp_path: Path) -> None:
    _fake_build(tmp_path, b"X = 2\n", stamp=b"X = 1\n")
    state = native.module_state(NAME, tmp_path)
    assert state.mode == "python"
    assert "source changed" in state.reason


def test_missing_stamp_or_copy_runs_as_python(tmp_path: Path) -> None:
    compiled = _fake_build(tmp_path, b"X = 1\n")
    native.hash_path(NAME, tmp_path).unlink()
    assert native.module_state(NAME, tmp_path).reason == "no source hash beside the compiled copy"
    compiled.unlink()
    assert native.module_state(NAME, tmp_path).reason == "not compiled (make native)"


def test_pxd_is_part_of_the_source(tmp_path: Path) -> None:
    """An augmenting ``.pxd`` changes what is compiled: adding, editing or removing one since
    the build makes the module run as Python."""
    source = b"X = 1\n"
    compiled = _fake_build(tmp_path, source)
    pxd = native.source_path(NAME, tmp_path).with_suffix(".pxd")
    pxd.write_bytes(b"cdef class _Rebuilder:\n    cdef dict seen\n")
    assert native.module_state(NAME, tmp_path).reason.startswith("source changed")
    stamp = native.hash_path(NAME, tmp_path)
    stamp.write_text(native.source_hash(native.source_path(NAME, tmp_path)) + "\n", "ascii")
    assert native.module_state(NAME, tmp_path) == native.ModuleState(NAME, "native", str(compiled))
    pxd.write_bytes(b"cdef class _Rebuilder:\n    cdef set seen\n")
    assert native.module_state(NAME, tmp_path).reason.startswith("source changed")
    pxd.unlink()
    assert native.module_state(NAME, tmp_path).reason.startswith("source changed")
    assert native.source_hash(native.source_path(NAME, tmp_path)) == (
        hashlib.sha256(source).hexdigest()
    )


def test_build_stamps_the_hash_the_import_checks(tmp_path: Path) -> None:
    """setup.py (which imports nothing of the package) hashes the ``.py`` and ``.pxd`` as
    ``verifier.native`` does."""
    tree = ast.parse((ROOT / "setup.py").read_text(encoding="utf-8"))
    (func,) = (n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "source_hash")
    namespace: dict[str, Any] = {"hashlib": hashlib, "Path": Path}
    exec(compile(ast.Module([func], []), "setup.py", "exec"), namespace)
    source = tmp_path / "m.py"
    source.write_bytes(b"X = 1\n")
    assert namespace["source_hash"](source) == native.source_hash(source)
    source.with_suffix(".pxd").write_bytes(b"cdef object X\n")
    assert namespace["source_hash"](source) == native.source_hash(source)
    for name in native.NATIVE_MODULES + native.BINDINGS:
        path = native.source_path(name)
        assert namespace["source_hash"](path) == native.source_hash(path), name


def test_bindings_are_compiled_from_their_pyx() -> None:
    """A binding's source is its ``.pyx`` (no ``.py`` twin exists); setup.py builds it."""
    for name in native.BINDINGS:
        path = native.source_path(name)
        assert path.suffix == ".pyx" and path.is_file(), path
        assert not path.with_suffix(".py").exists(), path
        assert path.with_suffix(".pyi").is_file(), path  # its types, for mypy
    setup = (ROOT / "setup.py").read_text(encoding="utf-8")
    assert 'listed("BINDINGS")' in setup


def test_switch_off(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_build(tmp_path, b"X = 1\n")
    for value in ("0", "off", "False"):
        monkeypatch.setenv("AGENTVP_NATIVE", value)
        assert native.module_state(NAME, tmp_path) == native.ModuleState(
            NAME, "python", "AGENTVP_NATIVE=0"
        )


def test_loaded_modules_match_their_state() -> None:
    """Each listed module was loaded the way module_state says; in CI, all compiled."""
    for name in native.NATIVE_MODULES:
        importlib.import_module(name)
    states = native.loaded_states()
    for state in states:
        module = sys.modules[state.name]
        compiled = isinstance(module.__spec__.loader, importlib.machinery.ExtensionFileLoader)
        assert compiled == (native.module_state(state.name).mode == "native"), state
        assert compiled == (state.mode == "native"), state
    bindings = native.binding_states()
    for state in bindings:
        assert (state.mode == "native") == (state.name in sys.modules), state
    if os.environ.get("CI") == "true":
        assert all(state.mode == "native" for state in states + bindings), native.summary(
            states, bindings
        )


def test_a_binding_whose_import_failed_is_not_reported_compiled(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A binding found current whose import then raised (e.g. a libcrypto without one of its
    curves: jwk falls back to cryptography) reads as not compiled, with that reason."""
    for name in native.BINDINGS:
        monkeypatch.delitem(sys.modules, name, raising=False)
        monkeypatch.setitem(
            native._FINDER.states, name, native.ModuleState(name, "native", "/b.so")
        )
    assert native.binding_states() == [
        native.ModuleState(name, "python", "compiled, but its import failed")
        for name in native.BINDINGS
    ]
    first = native.BINDINGS[0]
    monkeypatch.setitem(
        native._FINDER.states, first, native.ModuleState(first, "python", "AGENTVP_NATIVE=0")
    )
    assert native.binding_states()[0] == native.ModuleState(first, "python", "AGENTVP_NATIVE=0")


def test_summary_names_what_runs_as_python() -> None:
    states = [
        native.ModuleState("verifier.protocol.jsonutil", "native", "/x.so"),
        native.ModuleState("verifier.protocol.jose.jws", "python", "AGENTVP_NATIVE=0"),
        native.ModuleState("verifier.protocol.jose.jwk", "python", "AGENTVP_NATIVE=0"),
    ]
    assert native.summary(states) == (
        "native protocol modules: 1 of 3 compiled; jws, jwk: AGENTVP_NATIVE=0"
    )
    bindings = [
        native.ModuleState("verifier.protocol.jose.ecdsa_openssl", "native", "/e.so"),
        native.ModuleState("verifier.x.other", "python", "not compiled (make native)"),
    ]
    assert native.summary(states[:1], bindings) == (
        "native protocol modules: 1 of 1 compiled; ecdsa_openssl: compiled; "
        "other: not compiled (make native)"
    )


def test_python_fallback_passes_the_protocol_suites() -> None:
    """The same vectors, negative cases and fuzz regressions with every module as Python."""
    env = {**os.environ, "AGENTVP_NATIVE": "0"}
    suites = (
        "tests/vectors",
        "tests/unit/test_jose.py",
        "tests/unit/test_jose_strict.py",
        # Wycheproof and the field-prime bound on cryptography alone (the rest needs the binding)
        "tests/unit/test_ecdsa_openssl.py::test_wycheproof_vectors_on_both_paths",
        "tests/unit/test_ecdsa_openssl.py::test_coordinates_at_or_above_the_field_prime_are_refused",
        # the digests through hashlib (the rest needs the binding)
        "tests/unit/test_sha2_openssl.py::test_the_hashlib_path_matches_the_standard_library",
        "tests/unit/test_sha2_openssl.py::test_hash_b64_refuses_on_both_paths",
        "tests/unit/test_jsonutil.py",
        "tests/unit/test_sd_layout.py",
        "tests/unit/test_dcql_models.py",
        "tests/fuzz/test_parsers.py",
        "tests/fuzz/test_regressions.py",
    )
    run = subprocess.run(
        # tests.native_off imports the listed modules as Python before the suite's conftest
        # sets AGENTVP_* aside (and refuses to run if one loads compiled)
        [*PYTEST, "-p", "tests.native_off", *suites],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    assert " passed" in run.stdout.splitlines()[-1]
