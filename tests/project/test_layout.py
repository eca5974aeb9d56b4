"""The tests' own layout: grouped by what they test, helpers shared through tests/support, no test module importing
another (a test module is collected, and its fixtures registered, wherever it is imported)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
GROUPS = {"api", "cli", "contracts", "e2e", "index", "issuer", "node", "project", "verifier"}


def _imported_modules(path: Path) -> set[str]:
    out: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
    return out


def test_no_test_module_imports_another() -> None:
    offenders = []
    for path in sorted(TESTS.rglob("*.py")):
        for module in _imported_modules(path):
            if module.startswith("tests.") and module.rsplit(".", 1)[-1].startswith("test_"):
                offenders.append(f"{path.relative_to(TESTS)} imports {module}")
    assert not offenders, "\n".join(offenders)


def test_every_test_module_is_in_a_group() -> None:
    stray = [p.relative_to(TESTS) for p in TESTS.rglob("test_*.py") if p.parent.name not in GROUPS]
    assert not stray, f"test modules outside tests/{{{','.join(sorted(GROUPS))}}}/: {stray}"
