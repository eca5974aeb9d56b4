"""One exception root: every exception class certnet defines derives from certnet.CertnetError."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import certnet
from certnet import CertnetError

PACKAGES = ["api", "index", "issuer", "node", "system", "verifier"]


def certnet_modules() -> list[str]:
    names = []
    for sub in PACKAGES:
        pkg = importlib.import_module(f"certnet.{sub}")
        names.append(pkg.__name__)
        for info in pkgutil.walk_packages(pkg.__path__, prefix=f"{pkg.__name__}."):
            if ".migrations" in info.name:  # Alembic's env.py runs migrations when imported
                continue
            names.append(info.name)
    return names


def test_every_exception_certnet_defines_derives_from_the_root() -> None:
    outside = []
    seen = 0
    for name in certnet_modules():
        module = importlib.import_module(name)
        for attr, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ != name or attr.startswith("_") or not issubclass(cls, BaseException):
                continue
            seen += 1
            if not issubclass(cls, CertnetError):
                outside.append(f"{name}.{attr}")
    assert seen > 30, seen  # the walk found the modules
    assert not outside, f"exceptions outside certnet.CertnetError: {outside}"


def test_the_root_is_the_package_s_own() -> None:
    assert certnet.CertnetError is CertnetError and CertnetError.__bases__ == (Exception,)
