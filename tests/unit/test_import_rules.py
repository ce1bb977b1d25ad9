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
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                names.append(".".join([*base, node.module] if node.module else base))
            elif node.module:
                names.append(node.module)
    return names


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
