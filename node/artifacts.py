"""The committed contract build artifacts (ABI and bytecode): running certnet never compiles."""

from __future__ import annotations

import json
from functools import cache
from typing import Any, cast

from certnet.node.paths import artifacts_dir


@cache
def load_artifact(name: str) -> dict[str, Any]:
    path = artifacts_dir().joinpath(f"{name}.json")
    if not path.is_file():
        raise FileNotFoundError(f"contract artifact {path} is missing: run `python -m certnet.node.compiler`")
    return cast("dict[str, Any]", json.loads(path.read_text()))
