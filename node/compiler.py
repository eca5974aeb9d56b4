"""Compile the Solidity contracts with the pinned solc through py-solc-x's standard-JSON interface.

A native solc of the pinned version is used when py-solc-x has one installed; otherwise the npm
package `solc` of the same version serves, through `contracts/solc-shim.cjs`. Imports are resolved
here and passed inline, so the output depends only on the sources and `contracts/settings.json`.
Running certnet never compiles: it loads the committed artifacts from `contracts/build/`.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, cast

from certnet import CertnetError
from certnet.node.paths import BUILD_DIR, CONTRACTS_DIR, PROJECT_ROOT

SETTINGS_FILE = CONTRACTS_DIR / "settings.json"
SOURCE_DIR = CONTRACTS_DIR / "src"
SHIM = CONTRACTS_DIR / "solc-shim.cjs"
_IMPORT = re.compile(r'^\s*import\s+(?:\{[^}]*\}\s+from\s+)?"([^"]+)"\s*;', re.MULTILINE)


class CompileError(CertnetError, RuntimeError):
    """The compiler refused the sources, or no compiler of the pinned version is available."""


def load_settings() -> dict[str, Any]:
    return cast("dict[str, Any]", json.loads(SETTINGS_FILE.read_text()))


def _resolve(import_path: str, importer: str, remappings: list[tuple[str, str]]) -> tuple[str, Path]:
    """Return (source unit name, file path) for an import statement in `importer`."""
    unit = import_path
    if import_path.startswith("."):
        parts = importer.split("/")[:-1]
        for part in import_path.split("/"):
            if part == "..":
                parts.pop()
            elif part != ".":
                parts.append(part)
        unit = "/".join(parts)
    for prefix, target in remappings:
        if unit.startswith(prefix):
            return unit, PROJECT_ROOT / (target + unit[len(prefix) :])
    if unit.startswith("@"):
        raise CompileError(f"import {import_path!r} in {importer} matches no remapping")
    return unit, SOURCE_DIR / unit


def collect_sources(settings: dict[str, Any]) -> dict[str, dict[str, str]]:
    """All source units reachable from the configured sources, with their content."""
    remappings = [tuple(r.split("=", 1)) for r in settings["remappings"]]
    sources: dict[str, dict[str, str]] = {}
    pending = [(name, SOURCE_DIR / name) for name in settings["sources"]]
    while pending:
        unit, path = pending.pop()
        if unit in sources:
            continue
        if not path.is_file():
            raise CompileError(f"source {unit} not found at {path} (run the set-up: npm packages missing?)")
        content = path.read_text()
        sources[unit] = {"content": content}
        for imp in _IMPORT.findall(content):
            pending.append(_resolve(imp, unit, remappings))
    return sources


def standard_input(settings: dict[str, Any]) -> dict[str, Any]:
    body = dict(settings["settings"])
    body["outputSelection"] = {
        "*": {
            "*": [
                "abi",
                "evm.bytecode.object",
                "evm.deployedBytecode.object",
                "evm.deployedBytecode.immutableReferences",
                "devdoc",
                "userdoc",
                "storageLayout",
            ]
        }
    }
    return {"language": "Solidity", "sources": collect_sources(settings), "settings": body}


def solc_binary(version: str) -> str:
    """A native solc of `version` if py-solc-x has one, else the npm solc shim."""
    import solcx

    try:
        return str(solcx.install.get_executable(version))
    except Exception:
        pass
    soljson = PROJECT_ROOT / "node_modules" / "solc" / "package.json"
    if not soljson.is_file():
        raise CompileError("no solc available: run the set-up (npm package `solc` missing)")
    npm_version = json.loads(soljson.read_text())["version"]
    if npm_version != version:
        raise CompileError(f"npm solc is {npm_version}, contracts are pinned to {version}")
    return str(SHIM)


def compile_contracts() -> dict[str, dict[str, Any]]:
    """Compile and return {contract name: artifact} for the contracts under contracts/src."""
    import solcx

    settings = load_settings()
    version = settings["solc"]
    binary = solc_binary(version)
    try:
        out = solcx.compile_standard(standard_input(settings), solc_binary=binary)
    except solcx.exceptions.SolcError as exc:
        raise CompileError(str(exc)) from exc
    errors = [e for e in out.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise CompileError("\n".join(e.get("formattedMessage", e["message"]) for e in errors))
    artifacts: dict[str, dict[str, Any]] = {}
    for unit in settings["sources"]:
        for name, c in out["contracts"][unit].items():
            if not c["evm"]["bytecode"]["object"]:
                continue  # interfaces
            artifacts[name] = {
                "contractName": name,
                "sourceName": unit,
                "compiler": {"version": version, "settings": settings["settings"]},
                "abi": c["abi"],
                "bytecode": "0x" + c["evm"]["bytecode"]["object"],
                "deployedBytecode": "0x" + c["evm"]["deployedBytecode"]["object"],
                "devdoc": c.get("devdoc", {}),
                "userdoc": c.get("userdoc", {}),
                "storageLayout": c.get("storageLayout", {}),
                "immutableReferences": c["evm"]["deployedBytecode"].get("immutableReferences", {}),
            }
    return artifacts


def write_artifacts(artifacts: dict[str, dict[str, Any]], build_dir: Path = BUILD_DIR) -> list[Path]:
    build_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, art in sorted(artifacts.items()):
        path = build_dir / f"{name}.json"
        path.write_text(json.dumps(art, indent=1, sort_keys=True) + "\n")
        written.append(path)
    return written


def main() -> None:
    """`python -m certnet.node.compiler`: recompile and rewrite contracts/build/."""
    for path in write_artifacts(compile_contracts()):
        print(path.relative_to(PROJECT_ROOT))


if __name__ == "__main__":
    main()
