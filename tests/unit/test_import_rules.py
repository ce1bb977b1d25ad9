"""DESIGN.md import rules: the protocol core stays pure; wallet_sim sees only verifier.protocol."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WEB_FRAMEWORKS = ("fastapi", "starlette", "uvicorn", "httpx", "redis", "sqlite3", "requests", "os")


def imports_of(path: Path) -> list[str]:
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    return imports_in(path.read_text(), package)


def imports_in(source: str, package: str) -> list[str]:
    """Absolute module names imported by ``source`` living in ``package``."""
    tree = ast.parse(source)
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.level or node.module):
            names.append(from_module(node, package))
    return names


def from_module(node: ast.ImportFrom, package: str) -> str:
    """The absolute name of the module a ``from ... import`` in ``package`` imports from."""
    if not node.level:
        return node.module or ""
    base = package.split(".")[: len(package.split(".")) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def test_protocol_imports_nothing_else_of_verifier_and_no_io_framework() -> None:
    for path in modules("verifier/protocol"):
        for name in imports_of(path):
            top = name.split(".")[0]
            assert not (top == "verifier" and not name.startswith("verifier.protocol")), (
                path,
                name,
            )
            assert top not in WEB_FRAMEWORKS, (path, name)
            assert top != "wallet_sim", (path, name)


def test_wallet_sim_imports_only_the_protocol_of_verifier() -> None:
    for path in modules("wallet_sim"):
        for name in imports_of(path):
            if name.split(".")[0] == "verifier":
                assert name.startswith("verifier.protocol"), (path, name)


def test_verifier_never_imports_wallet_sim() -> None:
    for path in modules("verifier"):
        assert all(n.split(".")[0] != "wallet_sim" for n in imports_of(path)), path


WEB_FRAMEWORK_TOPS = ("fastapi", "starlette")
# Where a web framework may be imported: the HTTP edge (routes/, app.py) and the resource-server
# package (its FastAPI helpers are optional: it also runs as plain ASGI).
WEB_EDGE = ("verifier/routes/", "verifier/app.py", "verifier/resource/")
CAPABILITIES = ("presentations", "agents", "oauth", "policy", "store", "ops", "setup", "resource")


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def test_only_the_http_edge_imports_a_web_framework() -> None:
    for path in modules("verifier"):
        if _rel(path).startswith(WEB_EDGE):
            continue
        for name in imports_of(path):
            assert name.split(".")[0] not in WEB_FRAMEWORK_TOPS, (path, name)


def test_capability_packages_never_import_the_http_layer() -> None:
    for package in CAPABILITIES:
        for path in modules(f"verifier/{package}"):
            for name in imports_of(path):
                assert not (name == "verifier.routes" or name.startswith("verifier.routes.")), (
                    path,
                    name,
                )
                assert name not in ("verifier.app", "verifier.cli", "verifier.demo"), (path, name)


def test_every_package_says_what_it_is_for_and_what_it_may_import() -> None:
    inits = [*sorted((ROOT / "verifier").rglob("__init__.py")), ROOT / "wallet_sim/__init__.py"]
    for init in inits:
        doc = ast.get_docstring(ast.parse(init.read_text()))
        assert doc and "import" in doc.lower(), (
            f"{_rel(init)} needs a docstring naming what it may import"
        )


def test_the_rules_see_violations() -> None:
    """The checks above would catch a violation (they do not pass vacuously)."""
    assert "fastapi" in imports_in("from fastapi import APIRouter", "verifier.agents")
    assert imports_in("from ..routes import deps", "verifier.agents") == ["verifier.routes"]
    for package in CAPABILITIES:
        assert modules(f"verifier/{package}"), package


def test_relative_imports_are_resolved_so_violations_are_seen() -> None:
    assert imports_in("from .. import service", "verifier.protocol") == ["verifier"]
    assert imports_in("from ..store import memory", "verifier.protocol") == ["verifier.store"]
    assert imports_in("from .jose import x", "verifier.protocol") == ["verifier.protocol.jose"]


def module_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Which modules of ``package`` each of its modules imports - ``if TYPE_CHECKING:`` imports
    included, since a cycle only type checkers follow still ties two modules together. ``from
    a import b`` counts as importing ``a.b`` when that is a module (a compiled-only ``.pyx``
    one too)."""
    sources = {}
    for path in sorted((root / package).rglob("*.py")):
        parts = path.relative_to(root).with_suffix("").parts
        sources[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    bindings = (root / package).rglob("*.pyx")
    graph: dict[str, set[str]] = {name: set() for name in sources}
    graph.update({".".join(p.relative_to(root).with_suffix("").parts): set() for p in bindings})
    for name, path in sources.items():
        home = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = from_module(node, home)
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in graph else base for a in node.names
                ]
            for target in targets:
                known = target
                while known and known not in graph:
                    known = known.rpartition(".")[0]
                if known and known != name:
                    graph[name].add(known)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (its modules in order, the first repeated), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        state[node] = 2
        path.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def test_no_import_cycles_in_the_verifier_not_even_type_only_ones() -> None:
    assert find_cycle(module_graph(ROOT, "verifier")) is None


def test_the_cycle_check_sees_a_type_only_cycle(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text('"""may import nothing"""\n')
    (pkg / "a.py").write_text("from pkg.b import B\n")
    (pkg / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from . import a\n"
    )
    assert module_graph(tmp_path, "pkg")["pkg.b"] == {"pkg.a"}
    assert find_cycle(module_graph(tmp_path, "pkg")) == ["pkg.a", "pkg.b", "pkg.a"]
