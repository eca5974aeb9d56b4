"""Shared test helpers (cli)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from certnet.issuer import samples
from certnet.issuer.faults import CRASH_ENV
from certnet.verifier.integrity import check_integrity


def certnet(home: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTNET_")}
    env["CERTNET_HOME"] = str(home)
    return subprocess.run(
        [sys.executable, "-m", "certnet.cli.main", *args],
        capture_output=True,
        text=True,
        env=env,
        input=stdin,
        timeout=300,
    )


COUNT, BATCH = 25, 10


def source(tmp_path: Path, seed: int) -> tuple[Path, list[dict]]:
    """Raw Form D documents without the envelope (the command fills it in from the deployment)."""
    docs = []
    for d in samples.generate(COUNT, seed=seed):
        d.pop("issuers"), d.pop("network")
        docs.append(d)
    path = tmp_path / "certificates.ndjson"
    path.write_text("".join(json.dumps(d, ensure_ascii=False) + "\n" for d in docs))
    return path, docs


def bulk(home: Path, *args: str, crash_at: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CERTNET_")}
    env["CERTNET_HOME"] = str(home)
    if crash_at:
        env[CRASH_ENV] = crash_at
    return subprocess.run(
        [sys.executable, "-m", "certnet.cli.main", "issue-bulk", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def check_output(anvil_net, out: Path, docs: list[dict]) -> list[str]:
    """Every input document is in exactly one anchored batch file, intact; returns the roots."""
    files = sorted(out.glob("batch-*.ndjson"))
    assert len(files) == -(-COUNT // BATCH) and not list(out.glob(".batch-*"))
    refs: list[str] = []
    roots = []
    store = anvil_net.store()
    for f in files:
        lines = [json.loads(line) for line in f.read_text().splitlines()]
        root = f.name.split("-")[2].removesuffix(".ndjson")
        roots.append(root)
        anchor = store.anchor_of(root)
        assert anchor is not None and anchor.document_count == len(lines) and anchor.document_type == 1
        for w in lines:
            assert check_integrity(w).ok and w["signature"]["merkleRoot"] == root
            refs.append(w["data"]["referenceNumber"].split(":", 2)[2])
            assert w["data"]["issuers"][0]["documentStore"].endswith(":" + anvil_net.stores["vn"])
    assert refs == [d["referenceNumber"] for d in docs]  # each once, in input order
    return roots
