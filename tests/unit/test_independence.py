"""The emulators and the runtime stay apart.

``sandbox/`` is a second, independent reading of the provider APIs: if it imported the
client's rules, client-vs-sandbox tests would confirm themselves. The runtime (``bot/``,
``handlers/``) may start the sandboxes from the dev launcher, but only lazily (inside a
function), so a production process never loads the emulators.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _modules(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def _imports(tree: ast.AST) -> Iterator[tuple[ast.stmt, str]]:
    """(statement, top-level package) for every absolute import anywhere in the tree."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node, alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node, node.module.split(".")[0]


def _module_level_imports(tree: ast.Module) -> Iterator[tuple[ast.stmt, str]]:
    """Imports that run when the module is imported: top level, and inside top-level
    ``if``/``try``/``with`` blocks (e.g. ``if TYPE_CHECKING:`` counts too), but not inside
    functions or classes."""
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield from _imports(node)
        elif isinstance(node, ast.If | ast.Try | ast.With):
            for field in ("body", "orelse", "finalbody", "handlers"):
                for child in getattr(node, field, []):
                    pending.extend(child.body if isinstance(child, ast.ExceptHandler) else [child])


def _parse(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


@pytest.mark.parametrize("path", _modules("sandbox"), ids=lambda p: p.name)
def test_sandbox_module_does_not_import_the_client(path: Path) -> None:
    offending = [
        f"line {node.lineno}: {ast.unparse(node)}"
        for node, top in _imports(_parse(path))
        if top in ("bot", "handlers")
    ]
    assert offending == [], f"{path.relative_to(ROOT)} imports the runtime: {offending}"


@pytest.mark.parametrize(
    "path", _modules("bot") + _modules("handlers"), ids=lambda p: str(p.relative_to(ROOT))
)
def test_runtime_module_imports_sandbox_only_lazily(path: Path) -> None:
    offending = [
        f"line {node.lineno}: {ast.unparse(node)}"
        for node, top in _module_level_imports(_parse(path))
        if top == "sandbox"
    ]
    assert offending == [], f"{path.relative_to(ROOT)} imports sandbox at import time"


def test_the_dev_launchers_do_start_the_sandbox_lazily() -> None:
    """The lazy imports exist (so the checks above are not vacuous for the launchers)."""
    for name in ("cli.py", "shell.py"):
        tree = _parse(ROOT / "bot" / name)
        lazy = [top for _, top in _imports(tree) if top == "sandbox"]
        eager = [top for _, top in _module_level_imports(tree) if top == "sandbox"]
        assert lazy and not eager, name


def test_the_checks_catch_offenders() -> None:
    """The detectors themselves: a module-level, a guarded and a lazy import."""
    eager = ast.parse("import sandbox.server\n")
    guarded = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import sandbox\n")
    lazy = ast.parse("def f():\n    from sandbox.server import serve_forever\n")
    client = ast.parse("def f():\n    from bot.providers import akash_sdl\n")
    assert [top for _, top in _module_level_imports(eager)] == ["sandbox"]
    assert "sandbox" in [top for _, top in _module_level_imports(guarded)]
    assert "sandbox" not in [top for _, top in _module_level_imports(lazy)]
    assert [top for _, top in _imports(client)] == ["bot"]
