"""Where things live: the project tree and the per-user data directory."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
BUILD_DIR = CONTRACTS_DIR / "build"
NODE_MODULES = PROJECT_ROOT / "node_modules"


def data_dir() -> Path:
    """certnet's data directory: $CERTNET_HOME, else .certnet/ in the project tree."""
    return Path(os.environ.get("CERTNET_HOME") or PROJECT_ROOT / ".certnet")
