"""certnet: the one installed namespace.

Its subpackages live in the repository's top-level folders and are mapped in by pyproject.toml's
``[tool.setuptools] package-dir``: ``certnet.node`` is ``node/``, ``certnet.api`` is ``api/``, and so on
(``certnet.contracts`` is ``contracts/``, for the build artifacts). This folder holds only this file.

Every error certnet raises on purpose derives from :class:`CertnetError` (the one exception root), most also from
the built-in exception that says what kind of error it is (ValueError for bad input, RuntimeError, ...).

It also keeps Python's recursion limit where Python sets it, in every process that imports certnet: py-evm
(``eth``) and ``py_ecc`` raise it to 100,000 when imported, and with that limit a deeply nested input makes
the JSON parser (or any recursive walk) overflow the C stack and kill the process with SIGSEGV instead of
raising RecursionError. An import hook puts the limit back right after either of them is imported.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

#: the limit kept: the one in force when certnet was first imported, or Python's default if something imported
#: before certnet had already raised it beyond reason
RECURSION_LIMIT = sys.getrecursionlimit() if sys.getrecursionlimit() <= 10_000 else 1000

_RAISERS = frozenset({"eth", "py_ecc"})


class CertnetError(Exception):
    """The root of every exception certnet defines: `except CertnetError` catches each of them."""


class _RestoringLoader(importlib.abc.Loader):
    """Runs the real loader, then puts the recursion limit back."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        try:
            self._loader.exec_module(module)
        finally:
            sys.setrecursionlimit(RECURSION_LIMIT)

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, get_source, ... of the real loader
        return getattr(self._loader, name)


class _RecursionLimitKeeper(importlib.abc.MetaPathFinder):
    """Finds `eth` and `py_ecc` as the other finders would, with a loader that restores the limit."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in _RAISERS:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None:
                    spec.loader = _RestoringLoader(spec.loader)
                return spec
        return None


def keep_recursion_limit() -> None:
    """Install the hook (once) and undo a raise by a module imported before certnet."""
    if not any(isinstance(f, _RecursionLimitKeeper) for f in sys.meta_path):
        sys.meta_path.insert(0, _RecursionLimitKeeper())
    sys.setrecursionlimit(RECURSION_LIMIT)


keep_recursion_limit()
