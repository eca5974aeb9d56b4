"""The committed contract build artifacts (ABI and bytecode): running certnet never compiles."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from node.paths import BUILD_DIR


@cache
def load_artifact(name: str) -> dict[str, Any]:
    path = BUILD_DIR / f"{name}.json"
    if not path.is_file():
        raise FileNotFoundError(f"contract artifact {path} is missing: run `python -m node.compiler`")
    return json.loads(path.read_text())
