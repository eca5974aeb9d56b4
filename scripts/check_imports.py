"""The import check of the test command (issue 15): no import cycles between certnet modules, and the import
direction of docs/architecture.md ("Layers and import direction").

The graph is built from the source files with :mod:`ast`, nothing is imported. A module's *module-level* imports
(those run when it is imported: the module body, including ``if``/``try`` blocks and class bodies, but not function
bodies nor ``if TYPE_CHECKING:`` blocks) are the edges of the cycle check. The direction check takes every import,
module-level or inside a function: an import deferred into a function still makes the lower layer depend on the
upper one.

``python -m certnet.scripts.check_imports`` prints the findings and exits 1 if there are any.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

#: the repository root (this file is scripts/check_imports.py)
ROOT = Path(__file__).resolve().parent.parent

#: the subpackages of certnet and their folders (pyproject.toml's package-dir)
PACKAGES = {
    "api": "api",
    "cli": "cli",
    "index": "index",
    "issuer": "issuer",
    "verifier": "verifier",
    "node": "node",
    "scripts": "scripts",
}

#: docs/architecture.md: "Imports go cli → all of these; api → system, index, issuer, verifier, node; system →
#: issuer, node; index → verifier, node; issuer → verifier, node; verifier → node (read-only status calls); node
#: imports none of them." The layers each one must not import:
FORBIDDEN: dict[str, frozenset[str]] = {
    "api": frozenset({"cli"}),
    "system": frozenset({"api", "cli", "index"}),
    "index": frozenset({"api", "cli", "issuer", "system"}),
    "issuer": frozenset({"api", "cli", "index", "system"}),
    "verifier": frozenset({"api", "cli", "index", "issuer", "system"}),
    "node": frozenset({"api", "cli", "index", "issuer", "verifier", "system"}),
}


@dataclass(frozen=True)
class Import:
    """One import of a certnet module by another."""

    source: str  # the importing module, e.g. certnet.api.app
    target: str  # the imported module (the most specific one that exists)
    line: int
    module_level: bool


def module_files(root: Path = ROOT) -> dict[str, Path]:
    """Every certnet module by dotted name (``certnet.api.app``; a package is its ``__init__``)."""
    found: dict[str, Path] = {"certnet": root / "certnet" / "__init__.py"}
    for sub, folder in PACKAGES.items():
        for path in sorted((root / folder).rglob("*.py")):
            parts = list(path.relative_to(root / folder).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(["certnet", sub, *parts])] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(body: list[ast.stmt], module_level: bool) -> Iterator[tuple[ast.Import | ast.ImportFrom, bool]]:
    """The import statements in ``body`` with whether each runs when the module is imported."""
    for node in body:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, module_level
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield from _walk(node.body, False)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _walk(node.body, False)
            yield from _walk(node.orelse, module_level)
        else:
            for field in ("body", "orelse", "finalbody", "handlers", "cases"):
                for child in getattr(node, field, None) or []:
                    if isinstance(child, ast.ExceptHandler | ast.match_case):
                        yield from _walk(child.body, module_level)
                    elif isinstance(child, ast.stmt):
                        yield from _walk([child], module_level)


def imports_of(name: str, path: Path, modules: dict[str, Path]) -> list[Import]:
    """The certnet modules that module ``name`` (its source at ``path``) imports."""
    is_package = path.name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found: list[Import] = []

    def add(target: str, line: int, module_level: bool) -> None:
        while target and target not in modules:  # `from certnet.api.app import X` -> certnet.api.app
            target = target.rpartition(".")[0]
        if target and target != name:
            found.append(Import(name, target, line, module_level))

    for node, module_level in _walk(ast.parse(path.read_text(encoding="utf-8")).body, True):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "certnet" or alias.name.startswith("certnet."):
                    add(alias.name, node.lineno, module_level)
            continue
        if node.level:
            base = package.split(".")
            base = base[: len(base) - (node.level - 1)]
            mod = ".".join(base + ([node.module] if node.module else []))
        else:
            mod = node.module or ""
        if not (mod == "certnet" or mod.startswith("certnet.")):
            continue
        for alias in node.names:  # `from certnet.api import app` imports the module certnet.api.app
            sub = f"{mod}.{alias.name}"
            add(sub if sub in modules else mod, node.lineno, module_level)
    return found


def cycles(edges: list[Import]) -> list[list[str]]:
    """The import cycles among module-level imports: strongly connected components of more than one module."""
    graph: dict[str, set[str]] = {}
    for e in edges:
        if e.module_level:
            graph.setdefault(e.source, set()).add(e.target)
            graph.setdefault(e.target, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:  # Tarjan; the graph is small, recursion is fine
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return sorted(found)


def layer(module: str) -> str:
    """``certnet.index.follower`` -> ``api``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def direction_violations(edges: list[Import]) -> list[Import]:
    """Imports against docs/architecture.md's direction, at any level."""
    return [e for e in edges if layer(e.target) in FORBIDDEN.get(layer(e.source), frozenset())]


def check(root: Path = ROOT) -> list[str]:
    """Every finding as a readable line; empty when the imports are as the architecture says."""
    modules = module_files(root)
    edges = [e for name, path in modules.items() for e in imports_of(name, path, modules)]
    problems = []
    for cycle in cycles(edges):
        inner = [
            f"{e.source}:{e.line} -> {e.target}" for e in edges if e.module_level and {e.source, e.target} <= set(cycle)
        ]
        problems.append(f"import cycle among {', '.join(cycle)}: " + "; ".join(inner))
    for e in direction_violations(edges):
        where = "" if e.module_level else " (inside a function)"
        problems.append(
            f"{modules[e.source].relative_to(root)}:{e.line}: {e.source} imports {e.target}{where}, "
            f"against the import direction of docs/architecture.md ({layer(e.source)} must not import "
            f"{layer(e.target)})"
        )
    return problems


def main() -> int:
    problems = check()
    for p in problems:
        print(p)
    print(f"import check: {len(problems)} finding(s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
