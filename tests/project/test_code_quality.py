"""Lint, format, types and imports as part of the test command (issue 15).

* ``ruff check`` and ``ruff format --check`` over the repository (configuration in pyproject.toml);
* mypy ``--strict`` for certnet.verifier and certnet.node, and mypy in its default mode for the other packages
  (certnet.api, .cli, .index, .issuer, .scripts, .system; pyproject.toml leaves out two broken benchmark scripts).
  mypy cannot follow the package-dir mapping of the editable install, so it runs on a symlink tree
  (``certnet/__init__.py`` copied, ``certnet/node`` -> ``node/``, ...) with the configuration of pyproject.toml and
  a cache outside the checkout (~/.cache/certnet/mypy, one per mode: the two runs read node and verifier with
  different options), which makes a second run take seconds;
* the import check of certnet.scripts.check_imports: no module-level import cycles, and the import direction of
  docs/architecture.md.

Each tool is run from the project's .venv (the set-up installs the dev extra, which pins them); a missing tool is a
failure, never a skip.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from certnet.scripts import check_imports

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
STRICT_PACKAGES = ["certnet.verifier", "certnet.node"]
DEFAULT_PACKAGES = [
    "certnet.api",
    "certnet.cli",
    "certnet.index",
    "certnet.issuer",
    "certnet.scripts",
    "certnet.system",
]
MYPY_CACHE = Path.home() / ".cache" / "certnet" / "mypy"


def _tool(name: str) -> Path:
    path = BIN / name
    assert path.is_file(), f"{name} is not installed in {BIN}: run scripts/setup.sh (the dev extra pins it)"
    return path


def _run(args: list[str | Path], cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=300)


def test_ruff_check() -> None:
    r = _run([_tool("ruff"), "check", "--no-cache", "."])
    assert r.returncode == 0, f"ruff check found problems:\n{r.stdout}{r.stderr}"


def test_ruff_format() -> None:
    r = _run([_tool("ruff"), "format", "--check", "--no-cache", "."])
    assert r.returncode == 0, f"ruff format would change files (run ruff format):\n{r.stdout}{r.stderr}"


def mypy_tree(where: Path) -> Path:
    """The package as mypy can read it: certnet/ with the subpackages linked in from the repository's folders."""
    pkg = where / "certnet"
    if pkg.exists():
        shutil.rmtree(pkg)
    pkg.mkdir(parents=True)
    shutil.copy(ROOT / "certnet" / "__init__.py", pkg / "__init__.py")
    for sub in ("api", "cli", "contracts", "index", "issuer", "node", "scripts", "system", "verifier"):
        (pkg / sub).symlink_to(ROOT / sub, target_is_directory=True)
    return where


def _mypy(tmp_path: Path, packages: list[str], mode: list[str], cache: str) -> None:
    tree = mypy_tree(tmp_path)
    args = [arg for p in packages for arg in ("-p", p)]
    r = _run(
        [_tool("mypy"), "--config-file", ROOT / "pyproject.toml", "--cache-dir", MYPY_CACHE / cache, *mode, *args],
        cwd=tree,
    )
    assert r.returncode == 0, f"mypy {' '.join(mode + args)}:\n{r.stdout}{r.stderr}"


def test_mypy_strict(tmp_path: Path) -> None:
    _mypy(tmp_path, STRICT_PACKAGES, ["--strict"], "strict")


def test_mypy_default(tmp_path: Path) -> None:
    """The packages not held to --strict yet: mypy's default mode (annotated functions checked, no Any rules)."""
    _mypy(tmp_path, DEFAULT_PACKAGES, [], "default")


def test_imports() -> None:
    problems = check_imports.check()
    assert not problems, "import check:\n" + "\n".join(problems)


# -- the import check itself, on a small tree made for it


def _tree(root: Path, files: dict[str, str]) -> Path:
    (root / "certnet").mkdir(parents=True, exist_ok=True)
    (root / "certnet" / "__init__.py").write_text("")
    for folder in check_imports.PACKAGES.values():
        (root / folder).mkdir(exist_ok=True)
        (root / folder / "__init__.py").write_text("")
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def test_import_check_finds_a_cycle(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "api/a.py": "from certnet.api import b\n",
            "api/b.py": "from . import c\n",
            "api/c.py": "import certnet.api.a\n",
            "api/d.py": "def f():\n    from certnet.api import a\n",  # inside a function: no cycle
            "api/e.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from certnet.api.d import f\n",
            "api/f.py": "from certnet.api.e import x\n",
        },
    )
    problems = check_imports.check(root)
    assert len(problems) == 1, problems
    assert problems[0].startswith("import cycle among certnet.api.a, certnet.api.b, certnet.api.c"), problems


@pytest.mark.parametrize(
    ("source", "text", "bad"),
    [
        ("node/x.py", "from certnet.api.app import X\n", True),
        ("node/x.py", "def f():\n    from certnet.verifier import y\n", True),  # inside a function counts too
        ("verifier/x.py", "from ..issuer import y\n", True),
        ("issuer/x.py", "import certnet.api\n", True),
        ("verifier/x.py", "from certnet.node import y\n", False),
        ("issuer/x.py", "from certnet.verifier import y\nfrom certnet.node import z\n", False),
        ("api/x.py", "from certnet.issuer import y\n", False),
    ],
)
def test_import_check_direction(tmp_path: Path, source: str, text: str, bad: bool) -> None:
    files = {source: text, "api/app.py": "", "verifier/y.py": "", "issuer/y.py": "", "node/y.py": "", "node/z.py": ""}
    problems = check_imports.check(_tree(tmp_path, files))
    if bad:
        assert len(problems) == 1 and "against the import direction" in problems[0], problems
    else:
        assert problems == []
