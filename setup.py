"""Optional native build: compile the per-presentation protocol modules with Cython.

Everything else about the package is in pyproject.toml. The modules to compile are listed in
``verifier/native.py`` (read here as text, so the build imports nothing of the package). Each
is translated from its unchanged ``.py`` source, compiled into ``verifier/_native/`` (never
beside the source, so it cannot shadow it) and stamped with the source's SHA-256 (the ``.py``
and its augmenting ``.pxd`` of type declarations, if any); at import, ``verifier.native`` uses
a compiled module only while that stamp matches the source.

The build never fails the install: without Cython or a C compiler, or with
``AGENTVP_NATIVE_BUILD=0`` in the environment, it prints why and installs pure Python.
"""

from __future__ import annotations

import ast
import hashlib
import os
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
C_DIR = Path("build") / "cython"  # generated C, outside the source tree


def listed(variable: str) -> list[str]:
    """A tuple of module names assigned in verifier/native.py (NATIVE_MODULES, BINDINGS)."""
    tree = ast.parse((ROOT / "verifier" / "native.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if (
            isinstance(node, ast.AnnAssign)
            and isinstance(node.target, ast.Name)
            and node.target.id == variable
            and node.value is not None
        ):
            return list(ast.literal_eval(node.value))
    raise SystemExit(f"setup.py: {variable} not found in verifier/native.py")


def native_modules() -> list[str]:
    return listed("NATIVE_MODULES")


def source_of(name: str, bindings: tuple[str, ...] = ()) -> Path:
    """A module's ``.py``, or the ``.pyx`` of a compiled-only binding."""
    return Path(*name.split(".")).with_suffix(".pyx" if name in bindings else ".py")


# What each compiled-only binding links against (its headers must be installed to build it)
BINDING_LIBRARIES = {
    "verifier.protocol.jose.ecdsa_openssl": ["crypto"],
    "verifier.protocol.jose.sha2_openssl": ["crypto"],
}


def source_hash(path: Path) -> str:
    """What the stamp records; the same as ``verifier.native.source_hash``: the ``.py`` and, if
    there is one, the augmenting ``.pxd`` beside it (Cython reads it when it translates)."""
    digest = hashlib.sha256(path.read_bytes())
    pxd = path.with_suffix(".pxd")
    if pxd.is_file():
        digest.update(b"\0.pxd\0")
        digest.update(pxd.read_bytes())
    return digest.hexdigest()


def native_name(name: str) -> str:
    """``verifier.protocol.x`` is built as ``verifier._native.protocol.x`` (same init symbol)."""
    return ".".join(["verifier", "_native", *name.split(".")[1:]])


class StampedBuildExt(build_ext):
    """build_ext that records each module's source hash beside it and never fails the install."""

    def finalize_options(self) -> None:
        super().finalize_options()
        if self.parallel is None:
            self.parallel = os.cpu_count() or 1

    def _target(self, ext: Extension) -> Path:
        """Where the compiled module ends up: the source tree (``--inplace``) or the build."""
        base = ROOT if self.inplace else Path(self.build_lib)
        return base / Path(self.get_ext_filename(ext.name))

    def run(self) -> None:
        for ext in self.extensions:
            self._target(ext).parent.mkdir(parents=True, exist_ok=True)
            self._target(ext).with_name(Path(*ext.name.split(".")).name + ".sha256").unlink(
                missing_ok=True
            )
        try:
            super().run()
        except Exception as exc:  # a missing compiler, headers, ...: install pure Python
            print(f"agentvp: native build skipped ({exc}); every module runs as Python")
        for ext in self.extensions:
            target = self._target(ext)
            if target.is_file():
                digest = source_hash(ROOT / ext.agentvp_source)  # type: ignore[attr-defined]
                stamp = target.with_name(Path(*ext.name.split(".")).name + ".sha256")
                stamp.write_text(digest + "\n", "ascii")

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as exc:
            print(f"agentvp: {ext.name} not compiled ({exc}); it runs as Python")


def extensions() -> list[Extension]:
    if os.environ.get("AGENTVP_NATIVE_BUILD", "1").strip().lower() in {"0", "false", "no", "off"}:
        print("agentvp: AGENTVP_NATIVE_BUILD=0, native build skipped")
        return []
    try:
        from Cython.Build import cythonize  # noqa: PLC0415 - optional at build time
    except ImportError:
        print("agentvp: Cython not available, native build skipped")
        return []
    bindings = tuple(listed("BINDINGS"))
    names = native_modules() + list(bindings)
    os.chdir(ROOT)
    # Translate each source under its real module name (so names, tracebacks and __module__
    # are those of the Python module), then compile the C under the _native name.
    translated = cythonize(
        [Extension(name, [str(source_of(name, bindings))]) for name in names],
        build_dir=str(C_DIR),
        compiler_directives={
            "language_level": 3,
            "binding": True,  # functions keep signatures and introspection
            "annotation_typing": False,  # annotations never change behaviour: exact Python
        },
        nthreads=os.cpu_count() or 1,
        quiet=True,
    )
    out = []
    for name, ext in zip(names, translated, strict=True):
        # -w: the generated C's warnings are Cython's, not ours (the gate lints the source)
        built = Extension(
            native_name(name),
            ext.sources,
            optional=True,
            extra_compile_args=["-w"],
            libraries=BINDING_LIBRARIES.get(name, []),
        )
        built.agentvp_source = str(source_of(name, bindings))  # type: ignore[attr-defined]
        out.append(built)
    return out


setup(ext_modules=extensions(), cmdclass={"build_ext": StampedBuildExt})
