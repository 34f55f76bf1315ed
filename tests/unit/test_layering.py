"""The import structure the code relies on: the guard's package sits below the packages that
use it, so it imports none of them (identity, the interfaces, start-up); the vault, which
wires them together at start-up, has a module of its own."""

from __future__ import annotations

import ast
from pathlib import Path

import phivault.vault
from phivault.access import unit

SRC = Path(__file__).resolve().parents[2] / "src" / "phivault"
ABOVE_ACCESS = (
    "phivault.identity",
    "phivault.api",
    "phivault.web",
    "phivault.cli",
    "phivault.bootstrap",
    "phivault.demo",
)


def _imports(path: Path) -> list[str]:
    """Every module a file imports, at any depth (functions and TYPE_CHECKING blocks too)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
    return found


def test_the_access_package_imports_nothing_from_the_packages_above_it() -> None:
    offending = [
        f"{path.name} imports {module}"
        for path in sorted((SRC / "access").glob("*.py"))
        for module in _imports(path)
        if module.startswith(ABOVE_ACCESS)
    ]
    assert offending == []


def test_the_vault_has_a_module_of_its_own() -> None:
    assert phivault.vault.Vault.__module__ == "phivault.vault"
    assert "Vault" not in vars(unit)  # only named there for type checking
