"""The TradeTrust verifiers (`@govtechsg/oa-verify`, `@tradetrust-tt/tt-verify`) run through node as oracles:
the served oracle process, its fixtures and helpers to read their results."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from certnet.verifier.merkle import combine

ROOT = Path(__file__).resolve().parents[2]
ORACLE = ROOT / "tests" / "oracle" / "tt_verify.cjs"
#: the TradeTrust verifiers, by npm package name (the keys of the oracle's answers), with their short names
VERIFIERS = {"@govtechsg/oa-verify": "oa-verify", "@tradetrust-tt/tt-verify": "tt-verify"}
BATCHABLE_ID = "0xdcfd0745"


def _installed(package: str) -> str | None:
    manifest = ROOT / "node_modules" / package / "package.json"
    return json.loads(manifest.read_text())["version"] if manifest.exists() else None


def oracle_node() -> str:
    """node, with both pinned verifiers and ethers v5 installed; fails (never skips) otherwise."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed: the TradeTrust interoperability tests need it (run `make setup`)")
    dependencies = json.loads((ROOT / "package.json").read_text())["dependencies"]
    for package in VERIFIERS:
        pinned = dependencies.get(package)
        if pinned is None:
            pytest.fail(f"{package} is not pinned in package.json")
        installed = _installed(package)
        if installed is None:
            pytest.fail(f"{package} is not installed in node_modules (run `make setup`)")
        if installed != pinned:
            pytest.fail(f"{package} {installed} is installed but package.json pins {pinned} (run `make setup`)")
    ethers = _installed("ethers")
    if ethers is None or not ethers.startswith("5."):
        pytest.fail(f"the TradeTrust verifiers need ethers v5 in node_modules, found {ethers}")
    return node


def _checked(out: Any, documents: list[Any]) -> list[dict[str, dict[str, Any]]]:
    """The oracle's answer: per document, one result per verifier, from the pinned versions."""
    assert isinstance(out, list) and len(out) == len(documents)
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]
    for per_doc in out:
        assert set(per_doc) == set(VERIFIERS), sorted(per_doc)
        for package, result in per_doc.items():
            assert result["version"] == pinned[package], (package, result["version"])
    return out


@pytest.fixture(params=list(VERIFIERS), ids=list(VERIFIERS.values()))
def tt_verifier(request: pytest.FixtureRequest) -> str:
    """The package name of one TradeTrust verifier: the tests that take it run once for each."""
    return str(request.param)


@pytest.fixture(scope="module")
def tt_oracle(tmp_path_factory):
    """run(documents, rpc_url, *flags) -> per document {package: {version, isValid, calls, fragments}}, one entry
    for each verifier."""
    node = oracle_node()
    workdir = tmp_path_factory.mktemp("tt")
    counter = iter(range(10**6))

    def run(documents: list[Any], rpc_url: str, *flags: str) -> list[dict[str, dict[str, Any]]]:
        path = workdir / f"in-{next(counter)}.json"
        path.write_text(json.dumps(documents))
        proc = subprocess.run(
            [node, str(ORACLE), str(path), rpc_url, *flags], cwd=ROOT, capture_output=True, text=True, timeout=120
        )
        if proc.returncode != 0:
            pytest.fail(f"tt_verify.cjs failed:\n{proc.stderr}")
        return _checked(json.loads(proc.stdout), documents)

    return run


@pytest.fixture(scope="module")
def tt_served():
    """Like `tt`, through one long-lived `tt_verify.cjs --serve` process (the libraries are loaded once)."""
    import select
    import time

    proc = subprocess.Popen(
        [oracle_node(), str(ORACLE), "--serve"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )

    def run(documents: list[Any], rpc_url: str) -> list[dict[str, dict[str, Any]]]:
        proc.stdin.write(json.dumps({"documents": documents, "url": rpc_url}) + "\n")
        proc.stdin.flush()
        deadline = time.monotonic() + 120
        while not select.select([proc.stdout], [], [], 1.0)[0]:
            if proc.poll() is not None:
                pytest.fail(f"tt_verify.cjs --serve ended:\n{proc.stderr.read()}")
            if time.monotonic() > deadline:
                pytest.fail("tt_verify.cjs --serve gave no answer within 120 s")
        out = json.loads(proc.stdout.readline())
        if isinstance(out, dict):
            pytest.fail(f"tt_verify.cjs --serve failed: {out.get('error')}")
        return _checked(out, documents)

    yield run
    proc.stdin.close()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def fragment(result: dict[str, Any], name: str) -> dict[str, Any]:
    return next(f for f in result["fragments"] if f["name"] == name)


def integrity(result: dict[str, Any]) -> str:
    return fragment(result, "OpenAttestationHash")["status"]


def store_status(result: dict[str, Any]) -> dict[str, Any]:
    return fragment(result, "OpenAttestationEthereumDocumentStoreStatus")


def path_hashes(wrapped: dict[str, Any]) -> list[str]:
    """0x-hashes oa-verify asks isRevoked for: the targetHash, each node up the proof path, the root."""
    sig = wrapped["signature"]
    node = bytes.fromhex(sig["targetHash"])
    out = ["0x" + node.hex()]
    for sibling in sig["proof"]:
        node = combine(node, bytes.fromhex(sibling))
        out.append("0x" + node.hex())
    assert out[-1] == "0x" + sig["merkleRoot"]
    return out
