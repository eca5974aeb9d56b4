"""Where things live: the project tree (a checkout), the contract artifacts and the per-user data directory."""

from __future__ import annotations

import os
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

# In a checkout (the set-up's editable install) this is the repository; installed from a wheel it is the
# installed `certnet` package folder, which has no pyproject.toml.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
IN_CHECKOUT = (PROJECT_ROOT / "pyproject.toml").is_file()
# The checkout's contracts: sources, settings and build/ for the compiler (development only).
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
BUILD_DIR = CONTRACTS_DIR / "build"
NODE_MODULES = PROJECT_ROOT / "node_modules"


def artifacts_dir() -> Traversable:
    """The committed contract build artifacts, package data of `certnet.contracts` (checkout or wheel)."""
    return files("certnet.contracts").joinpath("build")


def data_dir() -> Path:
    """certnet's data directory.

    $CERTNET_HOME when set; else, running from a checkout, `.certnet/` in the project tree; else (installed
    without a checkout) the per-user `$XDG_DATA_HOME/certnet`, by default `~/.local/share/certnet`.
    """
    home = os.environ.get("CERTNET_HOME")
    if home:
        return Path(home)
    if IN_CHECKOUT:
        return PROJECT_ROOT / ".certnet"
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "certnet"
